// SPDX-License-Identifier: Apache-2.0
//
// test_rev46_bindings.cpp - review 46 regressions of bindings/cpp/chio.hpp:
// a kernel's clock that reaches back into its own kernel THROUGH ANOTHER
// kernel's clock (A's clock calls B, B's clock calls A). libchio remembers
// only the innermost clock a thread runs (src/kernel/kernel.c, `clocking`),
// so it let B's clock into A while A's revoke held A's revocation lock
// around A's clock: the thread relocked that mutex and hung for good (and
// a kernel destroyed there was drained and freed under the clock that was
// still running on it). The binding now keeps every clock and log sink a
// thread runs, at any depth, and refuses a call into a kernel whose own
// clock or log sink is among them with CHIO_EDEADLK, as the Rust binding
// does (Kernel::entry); a kernel destroyed there is leaked with its
// callables. Plain main(): prints every failed check and exits nonzero when
// any failed; a hang is reported by a watchdog, which exits nonzero.

#include "chio.hpp"
#include "test_check.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace
{

const char *const SEED_A = "0707070707070707070707070707070707070707070707070707070707070707";
const char *const SEED_B = "0909090909090909090909090909090909090909090909090909090909090909";
const char *const AGENT_SEED = "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c";
const char *const SCOPE =
    R"({"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]})";
const std::uint64_t NOW = 1700000000;

// Runs @body on a thread; a failure when it does not end within @secs (the
// thread is then stuck for good: the process reports and exits).
template <typename F> void within(int secs, const char *what, F body)
{
    struct shared {
        std::mutex mu;
        std::condition_variable cv;
        bool done = false;
    };
    auto s = std::make_shared<shared>();
    std::thread t([s, body]() {
        body();
        std::lock_guard<std::mutex> lock(s->mu);
        s->done = true;
        s->cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(s->mu);
    if (!s->cv.wait_for(lock, std::chrono::seconds(secs), [&] { return s->done; })) {
        std::fprintf(stderr, "FAIL %s: hung for %d s (a kernel call waiting for its own thread)\n",
                     what, secs);
        std::fflush(stderr);
        std::_Exit(1);
    }
    lock.unlock();
    t.join();
}

chio::kernel::config config(const char *seed)
{
    chio::kernel::config cfg;
    cfg.keypair = chio::keypair::from_seed_hex(seed);
    cfg.policy_hash = "sha256:rev46-bindings";
    cfg.ephemeral_store = true;
    cfg.log_level = CHIO_LOG_ERROR;
    return cfg;
}

// What the two clocks share: the kernels (through pointers the test sets),
// the thread that may act, and what B's clock saw when it called A.
struct clocks {
    std::unique_ptr<chio::kernel> a, b;
    std::atomic<bool> arm_a{false}, arm_b{false};
    std::thread::id actor;
    std::atomic<int> code{0};         // what A's call from B's clock threw (0: nothing)
    std::atomic<bool> destroy{false}; // B's clock destroys A instead of calling it
    std::atomic<bool> destroyed{false};
};

// A's clock calls B (issue_capability with issued_at 0 reads B's clock);
// B's clock calls A back (revoke), or destroys A. Both only on the actor
// thread and only once armed, so the kernels' own threads never act.
void make_kernels(clocks *c, const std::shared_ptr<std::atomic<bool>> &a_state_gone)
{
    // Set when A's clock (the lambda holding it) is destroyed.
    struct flag {
        std::shared_ptr<std::atomic<bool>> gone;
        explicit flag(std::shared_ptr<std::atomic<bool>> g) : gone(std::move(g))
        {
        }
        flag(const flag &) = delete;
        flag &operator=(const flag &) = delete;
        ~flag()
        {
            gone->store(true);
        }
    };
    auto a_flag = std::make_shared<flag>(a_state_gone);
    chio::kernel::config ca = config(SEED_A);
    ca.clock = [c, a_flag]() -> std::uint64_t {
        if (std::this_thread::get_id() == c->actor && c->arm_a.exchange(false)) {
            chio::keypair agent = chio::keypair::from_seed_hex(AGENT_SEED);
            try {
                c->arm_b.store(true);
                c->b->issue_capability(agent.public_hex(), SCOPE, 60);
            } catch (const chio::error &) {
            }
        }
        return NOW;
    };
    chio::kernel::config cb = config(SEED_B);
    cb.clock = [c]() -> std::uint64_t {
        if (std::this_thread::get_id() == c->actor && c->arm_b.exchange(false)) {
            if (c->destroy.load()) {
                c->a.reset(); // the last owner of A goes away inside B's clock
                c->destroyed.store(true);
            } else {
                try {
                    c->a->revoke("other-capability");
                    c->code.store(1); // it ran: A's revoke lock was relocked
                } catch (const chio::error &e) {
                    c->code.store(e.code());
                }
            }
        }
        return NOW;
    };
    c->a = std::make_unique<chio::kernel>(std::move(ca));
    c->b = std::make_unique<chio::kernel>(std::move(cb));
    c->a->start();
    c->b->start();
}

// A.revoke runs A's clock under A's revocation lock; that clock calls B,
// whose clock calls A.revoke again. Before: the thread relocked A's
// revocation mutex and never returned. Now the inner call is refused.
void test_own_clock_reached_through_another_kernels_clock_is_refused()
{
    auto gone = std::make_shared<std::atomic<bool>>(false);
    auto c = std::make_shared<clocks>();
    make_kernels(c.get(), gone);
    within(20, "A.revoke -> A's clock -> B -> B's clock -> A.revoke", [c]() {
        c->actor = std::this_thread::get_id();
        c->arm_a.store(true);
        try {
            c->a->revoke("the-capability");
        } catch (const chio::error &) {
        }
    });
    CHECK(c->code.load() == CHIO_EDEADLK);
    CHECK(c->a->is_revoked("the-capability"));
    CHECK(!c->a->is_revoked("other-capability"));
    c->a.reset();
    c->b.reset();
    CHECK(gone->load()); // an ordinary destruction frees the callables
}

// The same path, but B's clock drops the last owner of A while A's clock
// (and A's revoke, holding A's revocation lock) is still running further up
// this thread's stack. A must be leaked with its callables, not drained
// (which would wait for this very call) or freed under the running clock.
void test_kernel_destroyed_in_another_kernels_clock_under_its_own_is_leaked()
{
    auto gone = std::make_shared<std::atomic<bool>>(false);
    auto c = std::make_shared<clocks>();
    make_kernels(c.get(), gone);
    c->destroy.store(true);
    chio::kernel *raw_a = c->a.get();
    within(20, "A.revoke -> A's clock -> B -> B's clock destroys A", [c, raw_a]() {
        c->actor = std::this_thread::get_id();
        c->arm_a.store(true);
        try {
            raw_a->revoke("the-capability"); // A outlives the call: it is leaked
        } catch (const chio::error &) {
        }
    });
    CHECK(c->destroyed.load());
    CHECK(!gone->load()); // A's clock (running when A was destroyed) was not freed
    c->b.reset();
}

// ---- a tool of the fifth nested kernel that drains or destroys its own -----------

// Five kernels; the tool of kernel i evaluates a call on kernel i + 1, and
// the last one's tool drains (or destroys) its own kernel. libchio tracks
// the kernels a thread is inside in 4 slots (src/kernel/admission.c), so it
// did not see that the fifth drain came from inside a call of its own:
// drain waited for that call, i.e. for itself, for good.
const int NESTED = 5;

struct chain {
    std::unique_ptr<chio::kernel> k[NESTED];
    chio::call call[NESTED];
    bool destroy = false;     // the last tool destroys its kernel instead of draining it
    std::atomic<int> code{0}; // what the last tool's drain threw (1: it returned)
    std::atomic<bool> last_gone{false};
    bool tool_saw_alive = false;
};

void make_chain(const std::shared_ptr<chain> &ch)
{
    static const char *const seeds[NESTED] = {
        "1111111111111111111111111111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222222222222222222222222222",
        "3333333333333333333333333333333333333333333333333333333333333333",
        "4444444444444444444444444444444444444444444444444444444444444444",
        "5555555555555555555555555555555555555555555555555555555555555555",
    };
    chain *c = ch.get();
    for (int i = 0; i < NESTED; i++) {
        c->k[i] = std::make_unique<chio::kernel>(config(seeds[i]));
        if (i + 1 < NESTED) {
            c->k[i]->register_tool_server(
                "srv", {"next"}, [c, i](const std::string &, const std::string &) {
                    chio::response r = c->k[i + 1]->evaluate(c->call[i + 1]);
                    return std::string(r.allowed() ? "{\"ok\":true}" : "{\"ok\":false}");
                });
        } else {
            struct flag {
                std::atomic<bool> *gone;
                explicit flag(std::atomic<bool> *g) : gone(g)
                {
                }
                flag(const flag &) = delete;
                flag &operator=(const flag &) = delete;
                ~flag()
                {
                    gone->store(true);
                }
            };
            auto f = std::make_shared<flag>(&c->last_gone);
            c->k[i]->register_tool_server(
                "srv", {"next"}, [c, i, f](const std::string &, const std::string &) {
                    if (c->destroy) {
                        c->k[i].reset(); // destroys the kernel running this very call
                        c->tool_saw_alive = !c->last_gone.load();
                        return std::string("{\"ok\":true}");
                    }
                    try {
                        c->k[i]->drain();
                        c->code.store(1);
                    } catch (const chio::error &e) {
                        c->code.store(e.code());
                    }
                    return std::string("{\"ok\":true}");
                });
        }
    }
    chio::keypair agent = chio::keypair::from_seed_hex(AGENT_SEED);
    for (int i = 0; i < NESTED; i++) {
        chio::capability cap = c->k[i]->issue_capability(agent.public_hex(), SCOPE, 3600);
        c->call[i].session_id = c->k[i]->open_session(agent.public_hex(), cap);
        c->call[i].capability_id = cap.id();
        c->call[i].server_id = "srv";
        c->call[i].tool_name = "next";
    }
}

void test_drain_from_a_tool_of_the_fifth_nested_kernel_is_refused()
{
    auto ch = std::make_shared<chain>();
    make_chain(ch);
    within(20, "k1..k5 nested, k5's tool drains k5", [ch]() {
        chio::response r = ch->k[0]->evaluate(ch->call[0]);
        CHECK(r.allowed());
    });
    CHECK(ch->code.load() == CHIO_EDEADLK);
    chio::response r = ch->k[NESTED - 1]->evaluate(ch->call[NESTED - 1]); // still serving
    CHECK(r.allowed());
    for (int i = 0; i < NESTED; i++)
        ch->k[i].reset();
    CHECK(ch->last_gone.load());
}

void test_fifth_nested_kernel_destroyed_in_its_tool_is_leaked()
{
    auto ch = std::make_shared<chain>();
    make_chain(ch);
    ch->destroy = true;
    within(20, "k1..k5 nested, k5's tool destroys k5", [ch]() {
        chio::response r = ch->k[0]->evaluate(ch->call[0]);
        CHECK(r.allowed());
    });
    CHECK(!ch->k[NESTED - 1]);
    CHECK(ch->tool_saw_alive);
    CHECK(!ch->last_gone.load()); // the running tool's callable was not freed under it
    for (int i = 0; i < NESTED - 1; i++)
        ch->k[i].reset();
}

} // namespace

int main()
{
    test_own_clock_reached_through_another_kernels_clock_is_refused();
    test_kernel_destroyed_in_another_kernels_clock_under_its_own_is_leaked();
    test_drain_from_a_tool_of_the_fifth_nested_kernel_is_refused();
    test_fifth_nested_kernel_destroyed_in_its_tool_is_leaked();
    if (g_failures != 0) {
        std::fprintf(stderr, "%d of %d checks failed\n", g_failures, g_checks);
        return 1;
    }
    std::printf("test_rev46_bindings: %d checks passed\n", g_checks);
    return 0;
}
