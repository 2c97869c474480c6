// SPDX-License-Identifier: Apache-2.0
//
// test_chio.cpp - tests of bindings/cpp/chio.hpp. Plain main(): prints every
// failed check and exits nonzero when any failed.
//
//   g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp
//       bindings/cpp/test_chio.cpp build/libchio.a -lcrypto -lck -lrocksdb -lpthread

#define CHIO_WARN_DEPRECATED 1 // chio.hpp uses no deprecated name
#include "chio.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<int> g_failures{0};
std::atomic<int> g_checks{0};
std::mutex g_print_mu;

void fail_at(const char *file, int line, const std::string &what)
{
    g_failures++;
    std::lock_guard<std::mutex> lock(g_print_mu);
    std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what.c_str());
}

#define CHECK(cond)                                           \
    do {                                                      \
        g_checks++;                                           \
        if (!(cond))                                          \
            fail_at(__FILE__, __LINE__, "CHECK(" #cond ")"); \
    } while (0)

#define CHECK_EQ(a, b)                                                                       \
    do {                                                                                     \
        g_checks++;                                                                          \
        auto &&chk_a_ = (a);                                                                 \
        auto &&chk_b_ = (b);                                                                 \
        if (!(chk_a_ == chk_b_))                                                             \
            fail_at(__FILE__, __LINE__,                                                      \
                    std::string(#a " == " #b ": '") + std::string(chk_a_) + "' != '" +       \
                        std::string(chk_b_) + "'");                                          \
    } while (0)

// Runs @body, expects a chio::error with @code.
template <typename F> void expect_error(const char *file, int line, int code, F &&body)
{
    g_checks++;
    try {
        body();
        fail_at(file, line, std::string("expected ") + chio_errno_name(code) + ", nothing thrown");
    } catch (const chio::error &e) {
        if (e.code() != code)
            fail_at(file, line,
                    std::string("expected ") + chio_errno_name(code) + ", got " + e.what());
        else if (std::string(e.name()) != chio_errno_name(code) || e.message().empty())
            fail_at(file, line, std::string("bad error fields: ") + e.what());
    } catch (const std::exception &e) {
        fail_at(file, line, std::string("expected chio::error, got std::exception: ") + e.what());
    }
}
#define EXPECT_ERROR(code, ...) expect_error(__FILE__, __LINE__, code, [&] { __VA_ARGS__; })

const char *const SEED = "0707070707070707070707070707070707070707070707070707070707070707";
const char *const KERNEL_PUB = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const char *const AGENT = "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";
const char *const SCOPE =
    R"({"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]})";
const char *const POLICY = "sha256:cpp-binding-test";

std::atomic<int> g_log_lines{0};

chio::kernel make_kernel(std::uint32_t signer_threads = 2)
{
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = POLICY;
    cfg.ephemeral_store = true;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.signer_threads = signer_threads;
    cfg.log_level = CHIO_LOG_INFO;
    cfg.log = [](chio_log_level, std::string_view json) {
        if (!json.empty() && json.front() == '{')
            g_log_lines++;
    };
    return chio::kernel(std::move(cfg));
}

// Echo server "srv": tools echo (returns the arguments), boom (throws),
// notjson (returns text that is not JSON), weird (throws a non-std exception).
void register_echo(chio::kernel &k)
{
    k.register_tool_server("srv", {"echo", "boom", "notjson", "weird"},
                           [](const std::string &tool, const std::string &args) -> std::string {
                               if (tool == "echo")
                                   return args;
                               if (tool == "boom")
                                   throw std::runtime_error("kaboom from C++");
                               if (tool == "notjson")
                                   return "this is not json";
                               throw 42;
                           });
}

void check_receipt(const chio::receipt &r, chio::verdict v, const std::string &tool,
                   const std::string &server, const std::string &cap_id)
{
    CHECK(static_cast<bool>(r));
    if (!r)
        return;
    chio::receipt_verification rep = r.verify({KERNEL_PUB});
    CHECK(rep.ok);
    CHECK(rep.signature_valid);
    CHECK(rep.receipt_id_valid);
    CHECK(rep.parameter_hash_valid);
    CHECK(rep.signer_trusted);
    CHECK(rep.decision == v);
    CHECK_EQ(rep.signer_key_hex, std::string(KERNEL_PUB));
    CHECK_EQ(rep.id, r.id());
    CHECK(r.verdict() == v);
    CHECK_EQ(r.tool_name(), tool);
    CHECK_EQ(r.tool_server(), server);
    CHECK_EQ(r.capability_id(), cap_id);
    CHECK_EQ(r.kernel_key_hex(), std::string(KERNEL_PUB));
    CHECK(!r.json().empty());
    // The same check straight through the C API.
    std::uint8_t key[32];
    CHECK(chio_pubkey_from_hex(KERNEL_PUB, 64, key) == 0);
    chio_receipt_report raw;
    CHECK(chio_receipt_verify(r.get(), key, 1, &raw) == 0);
    CHECK(raw.ok == 1);
    // Under a key that is not the kernel's the signature still verifies but
    // the signer is not trusted.
    chio::receipt_verification other = r.verify({AGENT});
    CHECK(other.signature_valid && !other.signer_trusted && !other.ok);
}

void test_keys_and_errors()
{
    chio::keypair kp = chio::keypair::from_seed_hex(SEED);
    CHECK_EQ(kp.public_hex(), std::string(KERNEL_PUB));
    EXPECT_ERROR(CHIO_ESEED_NEWLINE, chio::keypair::from_seed_hex(std::string(SEED) + "\n"));
    EXPECT_ERROR(CHIO_ESEED_LENGTH, chio::keypair::from_seed_hex("0707"));
    EXPECT_ERROR(CHIO_ESEED_NONHEX, chio::keypair::from_seed_hex(std::string(62, '0') + "zz"));
    chio::keypair moved = std::move(kp);
    CHECK(!kp && kp.get() == nullptr && kp.public_hex().empty());
    CHECK_EQ(moved.public_hex(), std::string(KERNEL_PUB));
    chio::keypair &alias = moved;
    moved = std::move(alias); // self-move keeps the key
    CHECK(static_cast<bool>(moved));

    try {
        chio::canonical_json("{\"a\":1,}");
        fail_at(__FILE__, __LINE__, "canonical_json accepted bad JSON");
    } catch (const chio::error &e) {
        CHECK(e.code() == CHIO_EJSON_SYNTAX);
        CHECK(e.has_offset());
        CHECK_EQ(std::string(e.name()), std::string("CHIO_EJSON_SYNTAX"));
    }
    CHECK_EQ(chio::canonical_json("{ \"b\":1, \"a\":[true] }"), std::string("{\"a\":[true],\"b\":1}"));
    CHECK_EQ(chio::strerror(CHIO_ENOSESSION), std::string_view("unknown session"));
    CHECK_EQ(chio::err_name(CHIO_ENOSESSION), std::string_view("CHIO_ENOSESSION"));

    // A config error still consumes the keypair (checked under ASan: no leak).
    chio::kernel::config bad;
    bad.keypair = chio::keypair::from_seed_hex(SEED);
    bad.policy_hash = POLICY; // neither a store path nor ephemeral
    EXPECT_ERROR(CHIO_ECONFIG, chio::kernel k(std::move(bad)));
    chio::kernel::config badca;
    badca.keypair = chio::keypair::from_seed_hex(SEED);
    badca.policy_hash = POLICY;
    badca.ephemeral_store = true;
    badca.ca_public_keys_hex = {"nothex"};
    EXPECT_ERROR(CHIO_EKEY, chio::kernel k(std::move(badca)));

    chio::kernel empty;
    CHECK(!empty);
    EXPECT_ERROR(CHIO_EINVAL, empty.open_session(AGENT, std::vector<std::string>{}));
}

void test_receipt_moves(chio::response &&resp)
{
    const chio::receipt &orig = resp.receipt();
    const std::string id = orig.id();
    const std::string json(orig.json());
    CHECK(!id.empty());
    chio_receipt *raw = orig.get();

    chio::receipt a = resp.take_receipt();
    CHECK(!resp.receipt() && resp.receipt().get() == nullptr);
    CHECK(resp.receipt().json().empty() && resp.receipt().id().empty());
    CHECK(a.get() == raw);
    chio::receipt b(std::move(a));
    CHECK(!a && a.get() == nullptr && a.json().empty());
    CHECK(b.get() == raw && b.id() == id);
    chio::receipt c;
    c = std::move(b);
    CHECK(!b && c.get() == raw);
    chio::receipt &self = c;
    c = std::move(self); // self-move is a no-op
    CHECK(c.get() == raw);
    EXPECT_ERROR(CHIO_EINVAL, a.verify({KERNEL_PUB}));

    // Parse the canonical bytes back: an independent owner of equal content.
    chio::receipt parsed = chio::receipt::parse(json);
    CHECK_EQ(parsed.id(), id);
    CHECK_EQ(std::string(parsed.json()), json);
    CHECK(parsed.verify({KERNEL_PUB}).ok);
    c = std::move(parsed); // frees the original, takes the parsed one
    CHECK(!parsed && c.id() == id);
    EXPECT_ERROR(CHIO_EJSON_TRUNCATED, chio::receipt::parse("{\"id\":"));

    chio::response moved = std::move(resp);
    chio::response again;
    again = std::move(moved);
    CHECK(again.receipt().get() == nullptr); // it was taken above
}

void test_pipeline()
{
    chio::kernel k0 = make_kernel(2);
    CHECK_EQ(k0.public_hex(), std::string(KERNEL_PUB));
    register_echo(k0);
    EXPECT_ERROR(CHIO_EDUPLICATE, register_echo(k0));
    k0.add_forbidden_path_guard("forbidden_path", {"/etc/", "/root/"});
    k0.add_guard("cpp_guard", [](const chio::guard_input &in) {
        if (in.arguments_json.find("deny-me") != std::string_view::npos)
            return chio::guard_result::deny("cpp guard said no to " + std::string(in.tool_name));
        if (in.arguments_json.find("long-details") != std::string_view::npos) // a 2-byte char at byte 379
            return chio::guard_result::deny(std::string(379, 'z') + "\xc3\xa9" + std::string(200, 'w'));
        if (in.arguments_json.find("throw-me") != std::string_view::npos)
            throw std::logic_error("guard exploded");
        return chio::guard_result::pass("ok");
    });
    EXPECT_ERROR(CHIO_EDUPLICATE, k0.add_guard("cpp_guard", [](const chio::guard_input &) {
        return chio::guard_result::pass();
    }));
    EXPECT_ERROR(CHIO_EINVAL, k0.add_secret_leak_guard("secrets", {"(unclosed"}));
    k0.add_secret_leak_guard("secrets", {"AKIA[0-9A-Z]{16}"});

    // Move the kernel after registration: the callables must survive.
    chio::kernel k(std::move(k0));
    CHECK(!k0 && k0.get() == nullptr);
    EXPECT_ERROR(CHIO_EINVAL, k0.drain());

    chio::capability cap = k.issue_capability(AGENT, SCOPE, 3600);
    CHECK(static_cast<bool>(cap));
    CHECK_EQ(cap.issuer_hex(), std::string(KERNEL_PUB));
    CHECK_EQ(cap.subject_hex(), std::string(AGENT));
    CHECK(cap.expires_at() == cap.issued_at() + 3600);
    const std::string cap_id = cap.id();
    chio::capability revoked_cap = k.issue_capability(AGENT, SCOPE, 3600, 0, std::string("cap-to-revoke"));
    CHECK_EQ(revoked_cap.id(), std::string("cap-to-revoke"));
    chio::capability reparsed = chio::capability::parse(cap.json());
    CHECK_EQ(reparsed.id(), cap_id);
    EXPECT_ERROR(CHIO_EKEY, k.issue_capability("xyz", SCOPE, 3600));
    EXPECT_ERROR(CHIO_ERANGE, k.issue_capability(AGENT, SCOPE, 0));

    const std::string sid =
        k.open_session(AGENT, {std::string(cap.json()), std::string(revoked_cap.json())});
    CHECK(sid.size() == CHIO_SESSION_ID_LEN && sid.compare(0, 5, "sess-") == 0);
    CHECK(k.session_state(sid) == CHIO_SESSION_READY);

    // Registration is closed once serving.
    EXPECT_ERROR(CHIO_ESERVING, k.register_tool_server("late", {"x"}, [](const std::string &,
                                                                          const std::string &) {
                     return std::string("null");
                 }));
    EXPECT_ERROR(CHIO_ESERVING, k.add_forbidden_path_guard("late", {"/x"}));

    // ---- the error path: no receipt, chio::error ----
    chio::call bad;
    bad.session_id = "sess-AAAAAAAAAAAAAAAAAAAAAA";
    bad.capability_id = cap_id;
    bad.server_id = "srv";
    bad.tool_name = "echo";
    try {
        k.evaluate(bad);
        fail_at(__FILE__, __LINE__, "unknown session did not throw");
    } catch (const chio::error &e) {
        CHECK(e.code() == CHIO_ENOSESSION);
        CHECK_EQ(std::string(e.name()), std::string("CHIO_ENOSESSION"));
        CHECK_EQ(std::string(chio_errno_reason(e.code())), std::string("unknown_session"));
        CHECK(std::string(e.what()).find("CHIO_ENOSESSION") == 0);
    }
    bad.session_id = sid;
    bad.capability_id = "no-such-capability"; // a deny with a receipt, not an error
    {
        auto r = k.evaluate(bad);
        CHECK(r.verdict() == chio::verdict::deny);
        CHECK(r.code() == CHIO_CODE_UNKNOWN_CAPABILITY);
    }
    bad.capability_id = cap_id;
    bad.arguments_json = "{\"a\":";
    EXPECT_ERROR(CHIO_EJSON_TRUNCATED, k.evaluate(bad));
    bad.arguments_json = "{}";
    bad.tool_name = "srv\xff"; // not UTF-8: cannot be put in a receipt
    EXPECT_ERROR(CHIO_EINVAL, k.evaluate(bad));

    // ---- single decisions ----
    auto call_of = [&](const std::string &server, const std::string &tool, const std::string &args) {
        chio::call c;
        c.session_id = sid;
        c.capability_id = cap_id;
        c.server_id = server;
        c.tool_name = tool;
        c.arguments_json = args;
        return c;
    };
    {
        chio::call c = call_of("srv", "echo", "{ \"x\" : [1, 2] }");
        c.request_id = std::string("req-fixed-1");
        chio::response r = k.evaluate(c);
        CHECK(r.allowed());
        CHECK_EQ(r.verdict_name(), std::string_view("allow"));
        CHECK_EQ(r.code_name(), std::string_view("none"));
        CHECK(r.output().has_value() && *r.output() == "{\"x\":[1,2]}");
        CHECK_EQ(r.request_id(), std::string("req-fixed-1"));
        CHECK(r.children().empty());
        check_receipt(r.receipt(), chio::verdict::allow, "echo", "srv", cap_id);
        test_receipt_moves(std::move(r));
    }
    {
        chio::response r = k.evaluate(call_of("srv", "boom", "{}"));
        CHECK(r.verdict() == chio::verdict::deny);
        CHECK_EQ(r.code_name(), std::string_view("tool_error"));
        CHECK(r.code() == CHIO_CODE_TOOL_ERROR);
        CHECK(r.reason().find("kaboom from C++") != std::string::npos);
        CHECK(!r.output().has_value());
        check_receipt(r.receipt(), chio::verdict::deny, "boom", "srv", cap_id);
    }
    {
        chio::response r = k.evaluate(call_of("srv", "weird", "{}"));
        CHECK_EQ(r.code_name(), std::string_view("tool_error"));
        CHECK(r.reason().find("non-standard exception") != std::string::npos);
        r = k.evaluate(call_of("srv", "notjson", "{}"));
        CHECK_EQ(r.code_name(), std::string_view("tool_error"));
        CHECK(r.reason().find("not valid JSON") != std::string::npos);
        check_receipt(r.receipt(), chio::verdict::deny, "notjson", "srv", cap_id);
    }
    {
        // A 400-byte exception message with a multi-byte character at the cut.
        chio::kernel k2 = make_kernel(1);
        k2.register_tool_server("srv", {"long"}, [](const std::string &, const std::string &) -> std::string {
            throw std::runtime_error(std::string(254, 'x') + "\xc3\xa9" + std::string(150, 'y'));
        });
        chio::capability c2 = k2.issue_capability(AGENT, SCOPE, 60);
        chio::call c;
        c.session_id = k2.open_session(AGENT, c2);
        c.capability_id = c2.id();
        c.server_id = "srv";
        c.tool_name = "long";
        chio::response r = k2.evaluate(c);
        CHECK_EQ(r.code_name(), std::string_view("tool_error"));
        CHECK(r.reason().find(std::string(254, 'x')) != std::string::npos);
        CHECK(r.receipt().verify({KERNEL_PUB}).ok);
        k2.drain();
        k2.drain(); // idempotent
        EXPECT_ERROR(CHIO_EDRAINED, k2.evaluate(c));
    }
    {
        chio::response r = k.evaluate(call_of("srv", "echo", "{\"path\":\"/etc/passwd\"}"));
        CHECK_EQ(r.code_name(), std::string_view("guard_denied"));
        CHECK(r.reason().find("forbidden_path") != std::string::npos);
        check_receipt(r.receipt(), chio::verdict::deny, "echo", "srv", cap_id);
        r = k.evaluate(call_of("srv", "echo", "{\"note\":\"deny-me\"}"));
        CHECK_EQ(r.code_name(), std::string_view("guard_denied"));
        CHECK(r.reason().find("cpp guard said no to echo") != std::string::npos);
        r = k.evaluate(call_of("srv", "echo", "{\"note\":\"throw-me\"}"));
        CHECK_EQ(r.code_name(), std::string_view("guard_denied"));
        CHECK(r.reason().find("guard threw: guard exploded") != std::string::npos);
        r = k.evaluate(call_of("srv", "echo", "{\"note\":\"long-details\"}"));
        CHECK_EQ(r.code_name(), std::string_view("guard_denied"));
        CHECK(r.reason().find(std::string(379, 'z')) != std::string::npos);
        check_receipt(r.receipt(), chio::verdict::deny, "echo", "srv", cap_id);
        r = k.evaluate(call_of("srv", "echo", "{\"k\":\"AKIAABCDEFGHIJKLMNOP\"}"));
        CHECK_EQ(r.code_name(), std::string_view("guard_denied"));
        CHECK(r.reason().find("secrets") != std::string::npos);
        r = k.evaluate(call_of("other", "echo", "{}"));
        CHECK_EQ(r.code_name(), std::string_view("out_of_scope"));
        check_receipt(r.receipt(), chio::verdict::deny, "echo", "other", cap_id);
        r = k.evaluate(call_of("srv", "missing", "{}"));
        CHECK_EQ(r.code_name(), std::string_view("tool_not_registered"));
    }
    {
        // Revocation.
        chio::call c = call_of("srv", "echo", "{}");
        c.capability_id = "cap-to-revoke";
        c.arguments_json = ""; // empty means {}
        chio::response first = k.evaluate(c);
        CHECK(first.allowed() && first.output() && *first.output() == "{}");
        CHECK(!k.is_revoked("cap-to-revoke"));
        k.revoke("cap-to-revoke");
        k.revoke("cap-to-revoke"); // no-op
        CHECK(k.is_revoked("cap-to-revoke"));
        chio::response r = k.evaluate(c);
        CHECK_EQ(r.code_name(), std::string_view("capability_revoked"));
        check_receipt(r.receipt(), chio::verdict::deny, "echo", "srv", "cap-to-revoke");
    }

    // ---- concurrency: 8 threads, 8 x 60 calls on one shared kernel ----
    const std::uint64_t before = k.metrics().receipts_signed;
    const int nthreads = 8, per_thread = 60;
    std::mutex ids_mu;
    std::set<std::string> receipt_ids;
    std::atomic<int> allowed{0}, guarded{0}, scoped{0}, tool_errors{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; t++) {
        threads.emplace_back([&, t] {
            std::vector<std::string> mine;
            for (int i = 0; i < per_thread; i++) {
                const int n = t * per_thread + i;
                chio::call c;
                c.session_id = sid;
                c.capability_id = cap_id;
                c.server_id = "srv";
                c.tool_name = "echo";
                int kind = n % 4;
                if (kind == 0)
                    c.arguments_json = "{\"n\":" + std::to_string(n) + ",\"path\":\"/tmp/ok\"}";
                else if (kind == 1)
                    c.arguments_json = "{\"n\":" + std::to_string(n) + ",\"path\":\"/etc/shadow\"}";
                else if (kind == 2)
                    c.server_id = "other-" + std::to_string(t);
                else
                    c.tool_name = "boom";
                try {
                    chio::response r = k.evaluate(c);
                    switch (kind) {
                    case 0:
                        CHECK(r.allowed());
                        CHECK(r.output() && *r.output() == c.arguments_json);
                        check_receipt(r.receipt(), chio::verdict::allow, "echo", "srv", cap_id);
                        allowed++;
                        break;
                    case 1:
                        CHECK_EQ(r.code_name(), std::string_view("guard_denied"));
                        check_receipt(r.receipt(), chio::verdict::deny, "echo", "srv", cap_id);
                        guarded++;
                        break;
                    case 2:
                        CHECK_EQ(r.code_name(), std::string_view("out_of_scope"));
                        check_receipt(r.receipt(), chio::verdict::deny, "echo", c.server_id, cap_id);
                        scoped++;
                        break;
                    default:
                        CHECK_EQ(r.code_name(), std::string_view("tool_error"));
                        CHECK(r.reason().find("kaboom") != std::string::npos);
                        check_receipt(r.receipt(), chio::verdict::deny, "boom", "srv", cap_id);
                        tool_errors++;
                    }
                    mine.push_back(r.receipt().id());
                } catch (const std::exception &e) {
                    errors++;
                    fail_at(__FILE__, __LINE__, std::string("evaluate threw: ") + e.what());
                }
            }
            std::lock_guard<std::mutex> lock(ids_mu);
            receipt_ids.insert(mine.begin(), mine.end());
        });
    }
    for (std::thread &th : threads)
        th.join();
    const int total = nthreads * per_thread;
    CHECK(errors == 0);
    CHECK(allowed == total / 4 && guarded == total / 4 && scoped == total / 4 && tool_errors == total / 4);
    CHECK(receipt_ids.size() == static_cast<std::size_t>(total)); // all distinct
    chio_kernel_metrics m = k.metrics();
    CHECK(m.receipts_signed - before == static_cast<std::uint64_t>(total));
    CHECK(m.failed == 0);
    CHECK(k.in_flight() == 0); // every synchronous call completed

    // ---- session lifecycle ----
    k.begin_draining(sid);
    CHECK(k.session_state(sid) == CHIO_SESSION_DRAINING);
    EXPECT_ERROR(CHIO_ESESSION_DRAINING, k.evaluate(call_of("srv", "echo", "{}")));
    k.close_session(sid);
    CHECK(k.session_state(sid) == CHIO_SESSION_CLOSED);
    EXPECT_ERROR(CHIO_ESESSION_CLOSED, k.evaluate(call_of("srv", "echo", "{}")));
    EXPECT_ERROR(CHIO_ENOSESSION, k.close_session("sess-nope"));
    EXPECT_ERROR(CHIO_ENOSESSION, k.session_state("sess-nope"));
    k.drain();
    EXPECT_ERROR(CHIO_EDRAINED, k.open_session(AGENT, cap));
    CHECK(k.metrics().draining == 1);
    // Kernel destructor: chio_kernel_free, then the callables.
}

void test_offline_capability()
{
    chio::keypair issuer = chio::keypair::generate();
    chio::capability c = chio::capability::issue(issuer, AGENT, SCOPE, 1700000000, 60);
    CHECK_EQ(c.issuer_hex(), issuer.public_hex());
    CHECK(c.issued_at() == 1700000000 && c.expires_at() == 1700000060);
    chio::capability d(std::move(c));
    CHECK(!c && c.json().empty() && c.id().empty() && c.issued_at() == 0);
    CHECK(!d.json().empty());
    EXPECT_ERROR(CHIO_EFORMAT, chio::capability::issue(issuer, AGENT, "{\"grants\":7}", 1, 60));
}

// A string with a NUL byte is refused (CHIO_EINVAL), never cut at the NUL:
// C would otherwise revoke, evaluate or register the prefix before it.
void test_interior_nul()
{
    using namespace std::string_literals;
    chio::kernel k = make_kernel(1);
    EXPECT_ERROR(CHIO_EINVAL, k.register_tool_server("srv", {"echo\0rm"s}, [](const std::string &,
                                                                              const std::string &) {
        return std::string("{}");
    }));
    EXPECT_ERROR(CHIO_EINVAL, k.register_tool_server("srv\0x"s, {"echo"}, [](const std::string &,
                                                                            const std::string &) {
        return std::string("{}");
    }));
    EXPECT_ERROR(CHIO_EINVAL, k.add_forbidden_path_guard("fp", {"/etc/\0x"s}));
    EXPECT_ERROR(CHIO_EINVAL, k.add_guard("g\0x"s, [](const chio::guard_input &) {
        return chio::guard_result::pass();
    }));
    k.add_guard("g", [](const chio::guard_input &) { return chio::guard_result::pass(); }); // "g" is free
    register_echo(k);
    chio::capability cap = k.issue_capability(AGENT, SCOPE, 3600, 0, std::string("cap-nul"));
    EXPECT_ERROR(CHIO_EINVAL, k.issue_capability(AGENT, SCOPE, 3600, 0, "cap-nul\0b"s));
    const std::string sid = k.open_session(AGENT, cap);
    EXPECT_ERROR(CHIO_EINVAL, k.open_session(std::string(AGENT) + "\0x"s, cap));

    chio::call c;
    c.session_id = sid;
    c.capability_id = "cap-nul\0other"s;
    c.server_id = "srv";
    c.tool_name = "echo";
    EXPECT_ERROR(CHIO_EINVAL, k.evaluate(c));
    c.capability_id = "cap-nul";
    c.tool_name = "echo\0boom"s;
    EXPECT_ERROR(CHIO_EINVAL, k.evaluate(c));
    c.tool_name = "echo";
    c.session_id = sid + "\0x"s;
    EXPECT_ERROR(CHIO_EINVAL, k.evaluate(c));
    c.session_id = sid;
    c.request_id = "req\0x"s;
    EXPECT_ERROR(CHIO_EINVAL, k.evaluate(c));
    c.request_id.reset();
    CHECK(k.evaluate(c).allowed());

    EXPECT_ERROR(CHIO_EINVAL, k.revoke("cap-nul\0x"s));
    EXPECT_ERROR(CHIO_EINVAL, k.is_revoked("cap-nul\0x"s));
    CHECK(!k.is_revoked("cap-nul")); // the refused revoke did not revoke the prefix
    EXPECT_ERROR(CHIO_EINVAL, k.session_state(sid + "\0x"s));
    EXPECT_ERROR(CHIO_EINVAL, k.close_session(sid + "\0x"s));
    CHECK(k.session_state(sid) == CHIO_SESSION_READY);

    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = "sha256:a\0b"s;
    cfg.ephemeral_store = true;
    EXPECT_ERROR(CHIO_EINVAL, chio::kernel(std::move(cfg)));
}

// A tool that destroys its own kernel (the host drops it mid-call): libchio
// leaks the kernel (drain from inside a call is CHIO_EDEADLK), so the
// callables must be leaked with it, not freed while the tool is running and
// the kernel's threads may still call the log sink.
void test_kernel_destroyed_from_its_tool()
{
    struct flag_on_destroy {
        std::shared_ptr<std::atomic<bool>> f;
        ~flag_on_destroy()
        {
            if (f)
                f->store(true);
        }
    };
    auto tool_gone = std::make_shared<std::atomic<bool>>(false);
    auto log_gone = std::make_shared<std::atomic<bool>>(false);
    std::unique_ptr<chio::kernel> holder;
    {
        chio::kernel::config cfg;
        cfg.keypair = chio::keypair::from_seed_hex(SEED);
        cfg.policy_hash = POLICY;
        cfg.ephemeral_store = true;
        cfg.durability = CHIO_DURABILITY_NOSYNC;
        cfg.signer_threads = 1;
        auto lg = std::make_shared<flag_on_destroy>();
        lg->f = log_gone;
        cfg.log = [lg](chio_log_level, std::string_view) {};
        holder = std::make_unique<chio::kernel>(std::move(cfg));
    }
    auto td = std::make_shared<flag_on_destroy>();
    td->f = tool_gone;
    bool tool_saw_alive = false;
    holder->register_tool_server("srv", {"selfdestruct"},
                                 [td, &holder, &tool_saw_alive](const std::string &, const std::string &) {
                                     holder.reset(); // destroys the kernel running this very call
                                     tool_saw_alive = !td->f->load(); // our own captures still live
                                     return std::string("{\"ok\":true}");
                                 });
    td.reset();
    chio::capability cap = holder->issue_capability(AGENT, SCOPE, 3600);
    chio::kernel *k = holder.get();
    chio::call c;
    c.session_id = k->open_session(AGENT, cap);
    c.capability_id = cap.id();
    c.server_id = "srv";
    c.tool_name = "selfdestruct";
    chio::response r = k->evaluate(c); // k is destroyed during this call; evaluate touches no member after
    CHECK(!holder);
    CHECK(tool_saw_alive);
    CHECK(!tool_gone->load()); // before: the running tool's callable was freed under it
    CHECK(!log_gone->load());  // before: the leaked kernel's log sink was freed
    CHECK(r.allowed());
    CHECK(static_cast<bool>(r.receipt()));
}

// A clock that destroys its kernel (the host's last owner goes away in it)
// while the clock runs on the kernel's commit thread: chio_kernel_drain()
// there would wait for the commit thread itself, so the kernel must be
// leaked with its callables, never drained or freed. Before, the
// destructor drained and the commit thread hung for good.
struct clock_case {
    std::mutex mu;
    std::shared_ptr<chio::kernel> slot; // the last owner, once main let go
    chio_kernel *raw = nullptr;
    chio_call call{};
    std::thread::id completer;
    std::atomic<bool> armed{false}, destroyed{false}, second_submitted{false};
    std::atomic<int> submit_rc{1};
};

void clock_case_done(void *ctx, int, chio_response *, const chio_error *)
{
    auto *cc = static_cast<clock_case *>(ctx);
    if (cc->second_submitted.exchange(true))
        return; // the second evaluation's completion
    cc->completer = std::this_thread::get_id();
    // Wait (bounded) until the slot holds the only owner.
    for (int i = 0; i < 200000; i++) {
        {
            std::lock_guard<std::mutex> lock(cc->mu);
            if (cc->slot.use_count() == 1)
                break;
        }
        std::this_thread::yield();
    }
    cc->armed = true;
    // No C++ reference to the kernel is held from here on: the raw pointer
    // stays valid while the slot owns the kernel (and after, leaked).
    chio_error err;
    chio_error_init(&err);
    cc->submit_rc = chio_kernel_evaluate_async(cc->raw, &cc->call, clock_case_done, cc, &err);
}

void test_kernel_destroyed_from_its_clock()
{
    struct flag_on_destroy {
        std::shared_ptr<std::atomic<bool>> f;
        ~flag_on_destroy() { f->store(true); }
    };
    auto gone = std::make_shared<std::atomic<bool>>(false);
    auto cc = new clock_case; // leaked on purpose: the kernel may outlive this test
    auto flag = std::make_shared<flag_on_destroy>();
    flag->f = gone;
    const std::thread::id main_id = std::this_thread::get_id();
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(SEED);
    cfg.policy_hash = POLICY;
    cfg.ephemeral_store = true;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.checkpoint_batch_size = 1; // the commit thread reads the clock for each checkpoint
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.clock = [cc, flag, main_id]() -> std::uint64_t {
        std::thread::id self = std::this_thread::get_id();
        if (cc->armed && self != main_id && self != cc->completer) {
            std::shared_ptr<chio::kernel> last;
            {
                std::lock_guard<std::mutex> lock(cc->mu);
                last = std::move(cc->slot);
            }
            cc->armed = false;
            last.reset(); // ~kernel on the commit thread, inside the clock
            cc->destroyed = true;
        }
        return 1700000000;
    };
    auto k = std::make_shared<chio::kernel>(std::move(cfg));
    k->register_tool_server("srv", {"echo"}, [](const std::string &, const std::string &a) { return a; });
    chio::capability cap = k->issue_capability(AGENT, SCOPE, 3600);
    static std::string sid, cap_id; // the call's strings outlive the kernel
    sid = k->open_session(AGENT, cap);
    cap_id = cap.id();
    cc->call.session_id = sid.c_str();
    cc->call.capability_id = cap_id.c_str();
    cc->call.server_id = "srv";
    cc->call.tool_name = "echo";
    cc->raw = k->get();
    {
        std::lock_guard<std::mutex> lock(cc->mu);
        cc->slot = k;
    }
    chio_error err;
    chio_error_init(&err);
    CHECK(chio_kernel_evaluate_async(cc->raw, &cc->call, clock_case_done, cc, &err) == 0);
    k.reset(); // main lets go: the slot is the last owner
    for (int i = 0; i < 2000 && !cc->destroyed; i++) // 20 s at most
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(cc->submit_rc == 0);
    CHECK(cc->destroyed.load()); // before: the destructor hung in chio_kernel_drain
    CHECK(!gone->load());        // the clock's own state is leaked, not freed under it
}

} // namespace

int main()
{
    try {
        test_keys_and_errors();
        test_offline_capability();
        test_pipeline();
        test_interior_nul();
        test_kernel_destroyed_from_its_tool();
        test_kernel_destroyed_from_its_clock();
    } catch (const std::exception &e) {
        fail_at(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
    }
    CHECK(g_log_lines > 0); // the C++ log sink was called
    std::printf("test_chio (libchio %s): %d checks, %d failed\n", std::string(chio::version()).c_str(),
                g_checks.load(), g_failures.load());
    return g_failures == 0 ? 0 : 1;
}
