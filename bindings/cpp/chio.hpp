// SPDX-License-Identifier: Apache-2.0
//
// chio.hpp - header-only C++ binding for libchio (C++17 and later).
//
// Error model
// -----------
// Every libchio call that fails throws chio::error (derived from
// std::runtime_error). It carries the C result code (a negative CHIO_E*
// value), its symbolic name (chio_errno_name, e.g. "CHIO_ENOSESSION"), the
// library's message and, for input errors, the byte offset. Exceptions were
// chosen over an expected<T, E> style because std::expected is C++23 and
// this header targets C++17; a decision of the kernel (allow, deny,
// incomplete) is NOT an error: kernel::evaluate returns a chio::response for
// it, and throws only when no receipt was committed.
//
// Exceptions never cross the C boundary: tool servers, guards, the log sink
// and the clock are called from C through noexcept trampolines that catch
// everything. A throwing tool becomes a tool error (verdict deny, code
// "tool_error", the exception's what() in the reason); a throwing guard
// denies the call (code "guard_denied", what() in the guard's evidence).
//
// Ownership
// ---------
// keypair, kernel, receipt, capability and response own their C object
// uniquely: they are move-only, their destructors free, and a moved-from
// object is empty (operator bool is false, get() is nullptr). Accessors on an
// empty receipt/capability return empty values; operations that need the
// object (verify, evaluate, ...) throw chio::error(CHIO_EINVAL).
//
// A kernel owns the C++ callables registered with it (tool servers, guards,
// log sink, clock). Each lives in its own heap allocation, so its address is
// stable even when the kernel object is moved, and it is destroyed only after
// chio_kernel_free() has returned.
//
// Thread-safety
// -------------
// Build phase (one thread): construct the kernel, register_tool_server,
// add_guard, add_forbidden_path_guard, add_secret_leak_guard. Registration
// closes when the first session is opened (later registration throws
// CHIO_ESERVING). Serving phase: a kernel may be shared by reference across
// any number of threads; open_session, evaluate, revoke, is_revoked,
// issue_capability, close_session, begin_draining, session_state, metrics
// and public_hex are thread-safe. Registered callables run on the threads
// that call evaluate, possibly many at once, so they must be thread-safe
// themselves; so must the clock, which also runs on the kernel's threads. drain() must not be
// called from a callback; destroying or moving a kernel must not race with any other call on it.
// A call into a kernel from inside its own clock or log sink, at any depth (also through another
// kernel's clock or sink), throws chio::error(CHIO_EDEADLK) before libchio is called.
//
// Link: libchio.a -lcrypto -lck -lrocksdb -lpthread (or pkg-config chio).

#ifndef CHIO_CHIO_HPP
#define CHIO_CHIO_HPP

#include <chio/chio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chio
{

// ---- errors ---------------------------------------------------------------------------

// CHIO_NO_OFFSET without the C-style cast (for -Wold-style-cast users).
inline constexpr std::size_t no_offset = ~std::size_t{0};

// A failed libchio call. code() is the negative CHIO_E* value. Copying one
// never throws (the message is shared, as std::runtime_error shares what()),
// so catching by value or std::make_exception_ptr cannot end in terminate.
class error : public std::runtime_error
{
  public:
    error(int code, const std::string &message, std::size_t offset = no_offset)
        : std::runtime_error(format(code, message)), code_(code),
          message_(std::make_shared<const std::string>(message)), offset_(offset)
    {
    }

    int code() const noexcept
    {
        return code_;
    }
    // Symbolic name, e.g. "CHIO_ENOSESSION" (static string).
    const char *name() const noexcept
    {
        return chio_errno_name(code_);
    }
    // Library message (or chio_strerror(code) when the library gave none).
    const std::string &message() const noexcept
    {
        return *message_;
    }
    // Byte offset of the problem in the input, or no_offset (== CHIO_NO_OFFSET).
    std::size_t offset() const noexcept
    {
        return offset_;
    }
    bool has_offset() const noexcept
    {
        return offset_ != no_offset;
    }

  private:
    static std::string format(int code, const std::string &message)
    {
        std::string s = chio_errno_name(code);
        s += ": ";
        s += message;
        return s;
    }

    int code_;
    std::shared_ptr<const std::string> message_;
    std::size_t offset_;
};

namespace detail
{

// Length of a NUL-terminated string in a fixed buffer of @cap bytes.
inline std::size_t bounded_len(const char *s, std::size_t cap) noexcept
{
    const void *nul = std::memchr(s, '\0', cap);
    return nul != nullptr ? static_cast<std::size_t>(static_cast<const char *>(nul) - s) : cap;
}

// Throw for a nonzero result. @rc is authoritative; @err supplies the text.
inline void check(int rc, const chio_error *err = nullptr, const char *where = nullptr)
{
    if (rc == 0)
        return;
    std::string msg;
    std::size_t offset = no_offset;
    if (where != nullptr) {
        msg += where;
        msg += ": ";
    }
    if (err != nullptr && err->message[0] != '\0') {
        msg.append(err->message, bounded_len(err->message, sizeof(err->message)));
        offset = err->offset;
    } else {
        msg += chio_strerror(rc);
    }
    throw error(rc, msg, offset);
}

// A zeroed chio_error for one call.
struct c_error {
    chio_error e;
    c_error() noexcept
    {
        chio_error_init(&e);
    }
};

inline std::string str_or_empty(const char *s)
{
    return s != nullptr ? std::string(s) : std::string();
}

// @s as a C string for libchio; throws chio::error(CHIO_EINVAL) when it holds a
// NUL byte, at which C would silently cut it ("cap-1\0x" must never act on
// "cap-1"): an id, name or path goes to libchio whole or not at all.
inline const char *cstr(const std::string &s, const char *what)
{
    if (s.find('\0') != std::string::npos)
        throw error(CHIO_EINVAL, std::string(what) + " contains a NUL byte");
    return s.c_str();
}

// Copy @src into @dst (capacity @cap including the NUL) without splitting a
// UTF-8 sequence; never allocates or throws.
inline void copy_utf8_truncated(char *dst, std::size_t cap, const char *src,
                                std::size_t len) noexcept
{
    if (dst == nullptr || cap == 0)
        return;
    if (src == nullptr)
        len = 0;
    std::size_t n = len < cap - 1 ? len : cap - 1;
    if (n < len) // cut: back off continuation bytes so the text stays UTF-8
        while (n > 0 && (static_cast<unsigned char>(src[n]) & 0xC0u) == 0x80u)
            n--;
    if (n > 0)
        std::memcpy(dst, src, n);
    dst[n] = '\0';
}

// 32-byte keys back to back from hex strings.
inline std::vector<std::uint8_t> decode_keys(const std::vector<std::string> &hex)
{
    std::vector<std::uint8_t> out(hex.size() * CHIO_PUBKEY_BYTES);
    for (std::size_t i = 0; i < hex.size(); i++) {
        int rc =
            chio_pubkey_from_hex(hex[i].c_str(), hex[i].size(), out.data() + i * CHIO_PUBKEY_BYTES);
        if (rc != 0)
            throw error(rc, "public key " + std::to_string(i) +
                                " is not 64 hex digits: " + chio_strerror(rc));
    }
    return out;
}

} // namespace detail

// ---- keypair --------------------------------------------------------------------------

// An Ed25519 keypair. The seed stays inside libchio and is wiped on free.
class keypair
{
  public:
    keypair() noexcept = default;
    explicit keypair(chio_keypair *owned) noexcept : kp_(owned)
    {
    }
    keypair(keypair &&o) noexcept : kp_(std::exchange(o.kp_, nullptr))
    {
    }
    keypair &operator=(keypair &&o) noexcept
    {
        if (this != &o) {
            chio_keypair_free(kp_);
            kp_ = std::exchange(o.kp_, nullptr);
        }
        return *this;
    }
    keypair(const keypair &) = delete;
    keypair &operator=(const keypair &) = delete;
    ~keypair()
    {
        chio_keypair_free(kp_);
    }

    // 64 hex digits (optionally "0x"); no whitespace, not even a newline.
    static keypair from_seed_hex(std::string_view hex)
    {
        chio_keypair *kp = nullptr;
        detail::c_error err;
        detail::check(chio_keypair_from_seed_hex(hex.data(), hex.size(), &kp, &err.e), &err.e,
                      "chio_keypair_from_seed_hex");
        return keypair(kp);
    }

    static keypair generate()
    {
        chio_keypair *kp = nullptr;
        detail::c_error err;
        detail::check(chio_keypair_generate(&kp, &err.e), &err.e, "chio_keypair_generate");
        return keypair(kp);
    }

    // 64 lowercase hex digits; "" when empty.
    std::string public_hex() const
    {
        return detail::str_or_empty(chio_keypair_public_hex(kp_));
    }

    explicit operator bool() const noexcept
    {
        return kp_ != nullptr;
    }
    chio_keypair *get() const noexcept
    {
        return kp_;
    }
    // Give up ownership (the caller frees with chio_keypair_free).
    chio_keypair *release() noexcept
    {
        return std::exchange(kp_, nullptr);
    }

  private:
    chio_keypair *kp_ = nullptr;
};

// ---- receipts -------------------------------------------------------------------------

enum class verdict : int {
    none = CHIO_VERDICT_NONE,
    allow = CHIO_VERDICT_ALLOW,
    deny = CHIO_VERDICT_DENY,
    cancelled = CHIO_VERDICT_CANCELLED,
    incomplete = CHIO_VERDICT_INCOMPLETE,
};

// "allow", "deny", ...; "" outside the enum.
inline std::string_view verdict_name(verdict v) noexcept
{
    const char *s = chio_verdict_name(static_cast<chio_verdict>(v));
    return s != nullptr ? std::string_view(s) : std::string_view();
}

// chio_receipt_report with its strings copied.
struct receipt_verification {
    bool signature_valid = false;
    bool receipt_id_valid = false;
    bool parameter_hash_valid = false;
    bool signer_trusted = false;
    bool authorized = false;
    bool ok = false;
    chio::verdict decision = chio::verdict::none;
    // result: chio's label of what the receipt records (kind, boundary and
    // decision), whatever the checks found: a forged allow still reads
    // "Authorized". Decide on ok and authorized, never on result.
    std::string decision_name, receipt_kind, boundary_class, trust_level, result, id;
    std::string signer_key_hex;
};

class receipt
{
  public:
    receipt() noexcept = default;
    explicit receipt(chio_receipt *owned) noexcept : r_(owned)
    {
    }
    receipt(receipt &&o) noexcept : r_(std::exchange(o.r_, nullptr))
    {
    }
    receipt &operator=(receipt &&o) noexcept
    {
        if (this != &o) {
            chio_receipt_free(r_);
            r_ = std::exchange(o.r_, nullptr);
        }
        return *this;
    }
    receipt(const receipt &) = delete;
    receipt &operator=(const receipt &) = delete;
    ~receipt()
    {
        chio_receipt_free(r_);
    }

    static receipt parse(std::string_view json)
    {
        chio_receipt *r = nullptr;
        detail::c_error err;
        detail::check(chio_receipt_parse(json.data(), json.size(), &r, &err.e), &err.e,
                      "chio_receipt_parse");
        return receipt(r);
    }

    // Canonical JSON of the whole receipt; valid while *this owns it. "" when empty.
    std::string_view json() const noexcept
    {
        std::size_t len = 0;
        const char *s = chio_receipt_json(r_, &len);
        return s != nullptr ? std::string_view(s, len) : std::string_view();
    }
    std::string id() const
    {
        return detail::str_or_empty(chio_receipt_id(r_));
    }
    std::uint64_t timestamp() const noexcept
    {
        return r_ ? chio_receipt_timestamp(r_) : 0;
    }
    std::string capability_id() const
    {
        return detail::str_or_empty(chio_receipt_capability_id(r_));
    }
    std::string tool_server() const
    {
        return detail::str_or_empty(chio_receipt_tool_server(r_));
    }
    std::string tool_name() const
    {
        return detail::str_or_empty(chio_receipt_tool_name(r_));
    }
    std::string kernel_key_hex() const
    {
        return detail::str_or_empty(chio_receipt_kernel_key_hex(r_));
    }
    chio::verdict verdict() const noexcept
    {
        return r_ ? static_cast<chio::verdict>(chio_receipt_verdict(r_)) : chio::verdict::none;
    }

    // chio_receipt_verify against @trusted_keys_hex (64-hex public keys). A
    // failed check is a field of the result; only bad input or an internal
    // failure throws.
    receipt_verification verify(const std::vector<std::string> &trusted_keys_hex = {}) const
    {
        if (r_ == nullptr)
            throw error(CHIO_EINVAL, "receipt::verify: empty receipt");
        std::vector<std::uint8_t> keys = detail::decode_keys(trusted_keys_hex);
        chio_receipt_report rep;
        std::memset(&rep, 0, sizeof(rep));
        detail::check(chio_receipt_verify(r_, keys.empty() ? nullptr : keys.data(),
                                          trusted_keys_hex.size(), &rep),
                      nullptr, "chio_receipt_verify");
        receipt_verification v;
        v.signature_valid = rep.signature_valid != 0;
        v.receipt_id_valid = rep.receipt_id_valid != 0;
        v.parameter_hash_valid = rep.parameter_hash_valid != 0;
        v.signer_trusted = rep.signer_trusted != 0;
        v.authorized = rep.authorized != 0;
        v.ok = rep.ok != 0;
        v.decision = static_cast<chio::verdict>(rep.decision);
        v.decision_name = detail::str_or_empty(rep.decision_name);
        v.receipt_kind = detail::str_or_empty(rep.receipt_kind);
        v.boundary_class = detail::str_or_empty(rep.boundary_class);
        v.trust_level = detail::str_or_empty(rep.trust_level);
        v.result = detail::str_or_empty(rep.result);
        v.id = detail::str_or_empty(rep.id);
        v.signer_key_hex.assign(
            rep.signer_key_hex,
            detail::bounded_len(rep.signer_key_hex, sizeof(rep.signer_key_hex)));
        return v;
    }

    explicit operator bool() const noexcept
    {
        return r_ != nullptr;
    }
    chio_receipt *get() const noexcept
    {
        return r_;
    }
    chio_receipt *release() noexcept
    {
        return std::exchange(r_, nullptr);
    }

  private:
    chio_receipt *r_ = nullptr;
};

// ---- capabilities ---------------------------------------------------------------------

class capability
{
  public:
    capability() noexcept = default;
    explicit capability(chio_capability *owned) noexcept : c_(owned)
    {
    }
    capability(capability &&o) noexcept : c_(std::exchange(o.c_, nullptr))
    {
    }
    capability &operator=(capability &&o) noexcept
    {
        if (this != &o) {
            chio_capability_free(c_);
            c_ = std::exchange(o.c_, nullptr);
        }
        return *this;
    }
    capability(const capability &) = delete;
    capability &operator=(const capability &) = delete;
    ~capability()
    {
        chio_capability_free(c_);
    }

    static capability parse(std::string_view json)
    {
        chio_capability *c = nullptr;
        detail::c_error err;
        detail::check(chio_capability_parse(json.data(), json.size(), &c, &err.e), &err.e,
                      "chio_capability_parse");
        return capability(c);
    }

    // Sign a token with @issuer (chio_capability_issue). @id empty: a UUIDv7.
    static capability issue(const keypair &issuer, const std::string &subject_hex,
                            std::string_view scope_json, std::uint64_t issued_at,
                            std::uint64_t ttl_secs,
                            const std::optional<std::string> &id = std::nullopt)
    {
        chio_capability *c = nullptr;
        detail::c_error err;
        const char *cid = id ? detail::cstr(*id, "capability id") : nullptr;
        detail::check(chio_capability_issue(issuer.get(), cid, detail::cstr(subject_hex, "subject"),
                                            scope_json.data(), scope_json.size(), issued_at,
                                            ttl_secs, &c, &err.e),
                      &err.e, "chio_capability_issue");
        return capability(c);
    }

    // Canonical JSON of the whole token (with its signature). "" when empty.
    std::string_view json() const noexcept
    {
        std::size_t len = 0;
        const char *s = chio_capability_json(c_, &len);
        return s != nullptr ? std::string_view(s, len) : std::string_view();
    }
    std::string id() const
    {
        return detail::str_or_empty(chio_capability_id(c_));
    }
    std::string issuer_hex() const
    {
        return detail::str_or_empty(chio_capability_issuer_hex(c_));
    }
    std::string subject_hex() const
    {
        return detail::str_or_empty(chio_capability_subject_hex(c_));
    }
    std::uint64_t issued_at() const noexcept
    {
        return c_ ? chio_capability_issued_at(c_) : 0;
    }
    std::uint64_t expires_at() const noexcept
    {
        return c_ ? chio_capability_expires_at(c_) : 0;
    }

    explicit operator bool() const noexcept
    {
        return c_ != nullptr;
    }
    chio_capability *get() const noexcept
    {
        return c_;
    }
    chio_capability *release() noexcept
    {
        return std::exchange(c_, nullptr);
    }

  private:
    chio_capability *c_ = nullptr;
};

// ---- evaluation -----------------------------------------------------------------------

// One tool call (chio_call).
struct call {
    std::string session_id;
    std::string capability_id;
    std::string server_id;
    std::string tool_name;
    std::string arguments_json = "{}";     // any JSON text; "" means {}
    std::optional<std::string> request_id; // nullopt: the kernel generates a UUIDv7
};

// A decision with its committed receipt (chio_response, taken over).
class response
{
  public:
    response() = default;
    response(response &&) noexcept = default;
    response &operator=(response &&) noexcept = default;
    response(const response &) = delete;
    response &operator=(const response &) = delete;

    // Takes everything @r owns (strings are copied, receipts moved) and
    // destroys @r, also when copying throws.
    static response take(chio_response &r)
    {
        struct guard {
            chio_response *p;
            ~guard()
            {
                chio_response_destroy(p);
            }
        } g{&r};
        response out;
        out.verdict_ = static_cast<chio::verdict>(r.verdict);
        out.code_ = r.code;
        out.reason_ = detail::str_or_empty(r.reason);
        if (r.output != nullptr)
            out.output_ = std::string(r.output, r.output_len);
        out.request_id_ = detail::str_or_empty(r.request_id);
        out.children_.reserve(r.children != nullptr ? r.nchildren : 0);
        // No allocation from here on: ownership moves without a throw.
        out.receipt_ = chio::receipt(std::exchange(r.receipt, nullptr));
        for (std::size_t i = 0; r.children != nullptr && i < r.nchildren; i++)
            out.children_.emplace_back(std::exchange(r.children[i], nullptr));
        return out;
    }

    chio::verdict verdict() const noexcept
    {
        return verdict_;
    }
    bool allowed() const noexcept
    {
        return verdict_ == chio::verdict::allow;
    }
    std::string_view verdict_name() const noexcept
    {
        return chio::verdict_name(verdict_);
    }
    chio_code code() const noexcept
    {
        return code_;
    }
    // "none", "guard_denied", "tool_error", ... (chio_code_name).
    std::string_view code_name() const noexcept
    {
        const char *s = chio_code_name(code_);
        return s != nullptr ? std::string_view(s) : std::string_view();
    }
    const std::string &reason() const noexcept
    {
        return reason_;
    }
    // Canonical JSON of the tool output; nullopt when denied.
    const std::optional<std::string> &output() const noexcept
    {
        return output_;
    }
    const std::string &request_id() const noexcept
    {
        return request_id_;
    }
    const chio::receipt &receipt() const noexcept
    {
        return receipt_;
    }
    chio::receipt take_receipt() noexcept
    {
        return std::move(receipt_);
    }
    // Child receipts of nested requests (sampling, elicitation), in order.
    const std::vector<chio::receipt> &children() const noexcept
    {
        return children_;
    }
    std::vector<chio::receipt> take_children() noexcept
    {
        return std::move(children_);
    }

  private:
    chio::verdict verdict_ = chio::verdict::none;
    chio_code code_ = CHIO_CODE_NONE;
    std::string reason_;
    std::optional<std::string> output_;
    std::string request_id_;
    chio::receipt receipt_;
    std::vector<chio::receipt> children_;
};

// ---- callables ------------------------------------------------------------------------

// A tool: returns the result as JSON text; throw to fail the call.
using tool_fn = std::function<std::string(const std::string &tool, const std::string &args_json)>;

// What a guard sees; the views are valid during the call only.
struct guard_input {
    std::string_view session_id;
    std::string_view request_id;
    std::string_view agent_id;
    std::string_view capability_id;
    std::string_view server_id;
    std::string_view tool_name;
    std::string_view arguments_json; // canonical JSON
};

// A guard's answer. Build it with pass() or deny(); a default-constructed
// one (`return {};`) denies, as a C guard that leaves its verdict unset
// does: fail closed.
struct guard_result {
    bool passed = false;
    std::string
        details; // evidence text (UTF-8; libchio keeps 511 bytes, cut on a character boundary)

    static guard_result pass(std::string details = {})
    {
        return guard_result{true, std::move(details)};
    }
    static guard_result deny(std::string details = {})
    {
        return guard_result{false, std::move(details)};
    }
};

using guard_fn = std::function<guard_result(const guard_input &)>;
using log_fn = std::function<void(chio_log_level level, std::string_view json)>;
using clock_fn = std::function<std::uint64_t()>;

namespace detail
{

struct kernel_state;
// A registered callable and the kernel that owns it (whose callback frame
// its trampoline pushes, see infra_frame).
struct tool_holder {
    tool_fn fn;
    const kernel_state *owner;
};
struct guard_holder {
    guard_fn fn;
    const kernel_state *owner;
};
// Everything a kernel owns on the C++ side, kept alive until after chio_kernel_free.
struct kernel_state {
    std::vector<std::unique_ptr<tool_holder>> tools;
    std::vector<std::unique_ptr<guard_holder>> guards;
    log_fn log;
    clock_fn clock;
};

// The clocks and log sinks this thread is running, innermost first: one
// frame per call, on the trampoline's stack (a clock or sink may run inside
// another kernel's callback, which may run inside another's ...). A kernel
// whose own clock or log sink is among them, at ANY depth, refuses calls
// (kernel::enter(), CHIO_EDEADLK, as the Rust binding's Kernel::entry) and
// is leaked, not drained, when destroyed there (kernel::reset()). libchio
// itself remembered only the innermost clock before review 46 (it now
// follows the whole chain, src/kernel/kernel.c; these frames stay as a
// second guard), so A's clock calling B, whose clock calls A, got into A: A.revoke() holds A's
// revocation lock around A's clock, and that call relocked it and hung for
// good (test_rev46_bindings.cpp). The clock may also run on the kernel's
// own commit or signer threads, where draining would wait for the thread it
// runs on.
//
// Tools and guards push frames too (mediation): drain() from inside one of
// the kernel's own, at any depth, is refused and a kernel destroyed there
// is leaked here, without relying on libchio, which tracked the kernels a
// thread is inside in 4 slots (src/kernel/admission.c; more slots and an
// overflow count since): a tool of a fifth nested kernel that drained or
// destroyed its kernel waited for its own call for good.
struct infra_frame {
    const kernel_state *state;
    bool mediation; // tool or guard (else clock or log sink)
    const infra_frame *up;
};
inline thread_local const infra_frame *infra_running = nullptr;

// Whether a frame of @s (of any kind when @any, else clock or log sink)
// is on this thread's chain.
inline bool in_own_frame(const kernel_state *s, bool any) noexcept
{
    if (s == nullptr)
        return false;
    for (const infra_frame *f = infra_running; f != nullptr; f = f->up)
        if (f->state == s && (any || !f->mediation))
            return true;
    return false;
}

inline bool in_own_infra(const kernel_state *s) noexcept
{
    return in_own_frame(s, false);
}

// Pushes a frame for the duration of one callback.
class infra_scope
{
  public:
    explicit infra_scope(const kernel_state *s, bool mediation = false) noexcept
        : frame_{s, mediation, infra_running}
    {
        infra_running = &frame_;
    }
    ~infra_scope()
    {
        infra_running = frame_.up;
    }
    infra_scope(const infra_scope &) = delete;
    infra_scope &operator=(const infra_scope &) = delete;

  private:
    infra_frame frame_;
};

inline std::string_view view(const char *s, std::size_t len) noexcept
{
    return s != nullptr ? std::string_view(s, len) : std::string_view();
}
inline std::string_view view(const char *s) noexcept
{
    return s != nullptr ? std::string_view(s) : std::string_view();
}

// A tool's error text goes to libchio whole: chio_output_set_error scans
// all of it for secrets (a secret_leak guard's patterns) before it keeps 255
// bytes, cut on a character boundary (kernel/dispatch.c). A cut here could
// split a secret into a prefix the scan misses and the receipt then signs.
inline void set_output_error(chio_output *out, const char *what) noexcept
{
    chio_output_set_error(out, what != nullptr ? what : "");
}

// Guard details go to libchio whole up to its buffer (cut on a UTF-8
// boundary): the kernel itself cuts them to the receipt's evidence size and
// repairs a split character there and in the deny reason (kernel/request.c,
// kernel/decision.c). An extra cut here would only drop evidence.
inline void set_details(char *details, std::size_t cap, const char *prefix, const char *text,
                        std::size_t len) noexcept
{
    if (details == nullptr || cap == 0)
        return;
    std::size_t plen = std::strlen(prefix);
    if (plen >= cap)
        plen = 0;
    std::memcpy(details, prefix, plen);
    copy_utf8_truncated(details + plen, cap - plen, text, len);
}

} // namespace detail

// The C trampolines (C language linkage; they never let an exception out).
extern "C" {

inline int chio_cpp_detail_tool_invoke(void *user, chio_tool_ctx *, const char *tool,
                                       const char *args, std::size_t len, chio_output *out) noexcept
{
    auto *h = static_cast<detail::tool_holder *>(user);
    detail::infra_scope in_tool(h->owner, true);
    try {
        std::string result =
            h->fn(std::string(detail::view(tool)), std::string(detail::view(args, len)));
        // A result that is not JSON makes the kernel report a tool error itself.
        return chio_output_set_json(out, result.data(), result.size());
    } catch (const std::exception &e) {
        detail::set_output_error(out, e.what());
    } catch (...) {
        chio_output_set_error(out, "tool threw a non-standard exception");
    }
    return CHIO_EFAILED;
}

inline int chio_cpp_detail_guard(void *user, const chio_guard_input *in,
                                 chio_guard_verdict *verdict, char *details,
                                 std::size_t details_cap) noexcept
{
    auto *h = static_cast<detail::guard_holder *>(user);
    detail::infra_scope in_guard(h->owner, true);
    *verdict = CHIO_GUARD_DENY;
    try {
        guard_input gi;
        gi.session_id = detail::view(in->session_id);
        gi.request_id = detail::view(in->request_id);
        gi.agent_id = detail::view(in->agent_id);
        gi.capability_id = detail::view(in->capability_id);
        gi.server_id = detail::view(in->server_id);
        gi.tool_name = detail::view(in->tool_name);
        gi.arguments_json = detail::view(in->arguments_json, in->arguments_len);
        guard_result r = h->fn(gi);
        detail::set_details(details, details_cap, "", r.details.data(), r.details.size());
        *verdict = r.passed ? CHIO_GUARD_PASS : CHIO_GUARD_DENY;
    } catch (const std::exception &e) {
        detail::set_details(details, details_cap, "guard threw: ", e.what(), std::strlen(e.what()));
        *verdict = CHIO_GUARD_DENY;
    } catch (...) {
        detail::set_details(details, details_cap, "", "guard threw a non-standard exception", 36);
        *verdict = CHIO_GUARD_DENY;
    }
    return 0;
}

inline void chio_cpp_detail_log(void *ctx, chio_log_level level, const char *json,
                                std::size_t len) noexcept
{
    auto *st = static_cast<detail::kernel_state *>(ctx);
    detail::infra_scope in_sink(st); // this kernel refuses calls from here
    try {
        st->log(level, detail::view(json, len));
    } catch (...) { // a log sink cannot fail the kernel
    }
}

inline std::uint64_t chio_cpp_detail_clock(void *ctx) noexcept
{
    auto *st = static_cast<detail::kernel_state *>(ctx);
    // Marks this thread as inside @st's clock until it returns (a clock may
    // run inside another kernel's callback or clock: frames nest).
    detail::infra_scope in_clock(st);
    try {
        return st->clock();
    } catch (...) { // fall back to the wall clock
        return static_cast<std::uint64_t>(std::time(nullptr));
    }
}

} // extern "C"

// ---- kernel ---------------------------------------------------------------------------

class kernel
{
  public:
    // chio_retention_config; defaults from chio_kernel_config_init (disabled,
    // CHIO_DEFAULT_RETENTION_DAYS, CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES).
    struct retention {
        bool enabled = false;
        std::uint32_t retention_days = 0;
        std::uint64_t max_size_bytes = 0;
        std::optional<std::string> archive_path;

        retention()
        {
            chio_kernel_config c;
            chio_kernel_config_init(&c);
            enabled = c.retention_config.enabled != 0;
            retention_days = c.retention_config.retention_days;
            max_size_bytes = c.retention_config.max_size_bytes;
        }
    };

    // chio_kernel_config in C++ terms. Defaults come from chio_kernel_config_init.
    struct config {
        chio::keypair keypair;   // required; consumed by the kernel constructor
        std::string policy_hash; // required; embedded in every receipt
        std::optional<std::string> receipt_store_path; // RocksDB directory, or
        bool ephemeral_store = false;                  // in-memory log (exclusive with a path)
        chio_durability durability = CHIO_DURABILITY_SYNC;
        std::vector<std::string> ca_public_keys_hex; // trusted capability issuers
        std::uint32_t max_delegation_depth = CHIO_DEFAULT_MAX_DELEGATION_DEPTH;
        bool allow_sampling = false;
        bool allow_sampling_tool_use = false;
        bool allow_elicitation = false;
        std::uint64_t max_stream_duration_secs = CHIO_DEFAULT_MAX_STREAM_DURATION_SECS;
        std::uint64_t max_stream_total_bytes = 0; // set by config()
        bool require_web3_evidence = false;
        std::uint64_t checkpoint_batch_size = CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;
        kernel::retention retention_config;
        std::uint32_t signer_threads = CHIO_DEFAULT_SIGNER_THREADS;
        std::uint32_t ring_capacity = CHIO_DEFAULT_RING_CAPACITY;
        std::uint32_t max_batch = CHIO_DEFAULT_MAX_BATCH;
        chio_log_level log_level = CHIO_LOG_INFO;
        log_fn log;     // empty: JSON lines on stderr
        clock_fn clock; // empty: wall clock (Unix seconds)
        // true: a signing key whose pages cannot be mlocked fails the
        // constructor (CHIO_ESYS, naming RLIMIT_MEMLOCK); false: locked when
        // permitted, key_memory_unlocked logged (warn) once otherwise.
        bool lock_key_memory = false;
        // Nice value of the kernel's signer, commit and completion threads;
        // 0 = inherit. Raising it needs CAP_SYS_NICE, else it is logged
        // (signer_priority_not_applied) and ignored. Outside -20..19: CHIO_ECONFIG.
        int signer_priority = 0;
        // Longest arguments text a call may carry (CHIO_DEFAULT_MAX_ARGUMENT_BYTES);
        // longer is denied unparsed (arguments_rejected). Outside 1 B..63 MiB: CHIO_ECONFIG.
        std::uint64_t max_argument_bytes = CHIO_DEFAULT_MAX_ARGUMENT_BYTES;
        // SCHED_FIFO priority of the signer threads, 1..99; 0 = off. Needs
        // CAP_SYS_NICE or RLIMIT_RTPRIO, else it is logged
        // (signer_realtime_not_applied) and ignored. Outside 0..99: CHIO_ECONFIG.
        int signer_realtime = 0;

        config()
        {
            chio_kernel_config c;
            chio_kernel_config_init(&c);
            durability = c.durability;
            max_delegation_depth = c.max_delegation_depth;
            max_stream_duration_secs = c.max_stream_duration_secs;
            max_stream_total_bytes = c.max_stream_total_bytes;
            checkpoint_batch_size = c.checkpoint_batch_size;
            signer_threads = c.signer_threads;
            ring_capacity = c.ring_capacity;
            max_batch = c.max_batch;
            log_level = c.log_level;
            lock_key_memory = c.lock_key_memory != 0;
            signer_priority = c.signer_priority;
            max_argument_bytes = c.max_argument_bytes;
            signer_realtime = c.signer_realtime;
        }
    };

    kernel() noexcept = default;

    // chio_kernel_new. Consumes cfg.keypair (also when it throws).
    explicit kernel(config cfg) : state_(std::make_unique<detail::kernel_state>())
    {
        std::vector<std::uint8_t> ca = detail::decode_keys(cfg.ca_public_keys_hex);
        chio_kernel_config c;
        chio_kernel_config_init(&c);
        c.ca_public_keys = ca.empty() ? nullptr : ca.data();
        c.n_ca_public_keys = cfg.ca_public_keys_hex.size();
        c.max_delegation_depth = cfg.max_delegation_depth;
        c.policy_hash = detail::cstr(cfg.policy_hash, "policy_hash");
        c.allow_sampling = cfg.allow_sampling ? 1 : 0;
        c.allow_sampling_tool_use = cfg.allow_sampling_tool_use ? 1 : 0;
        c.allow_elicitation = cfg.allow_elicitation ? 1 : 0;
        c.max_stream_duration_secs = cfg.max_stream_duration_secs;
        c.max_stream_total_bytes = cfg.max_stream_total_bytes;
        c.require_web3_evidence = cfg.require_web3_evidence ? 1 : 0;
        c.checkpoint_batch_size = cfg.checkpoint_batch_size;
        c.retention_config.enabled = cfg.retention_config.enabled ? 1 : 0;
        c.retention_config.retention_days = cfg.retention_config.retention_days;
        c.retention_config.max_size_bytes = cfg.retention_config.max_size_bytes;
        c.retention_config.archive_path =
            cfg.retention_config.archive_path
                ? detail::cstr(*cfg.retention_config.archive_path, "archive_path")
                : nullptr;
        c.receipt_store_path = cfg.receipt_store_path
                                   ? detail::cstr(*cfg.receipt_store_path, "receipt_store_path")
                                   : nullptr;
        c.ephemeral_store = cfg.ephemeral_store ? 1 : 0;
        c.signer_threads = cfg.signer_threads;
        c.ring_capacity = cfg.ring_capacity;
        c.max_batch = cfg.max_batch;
        c.durability = cfg.durability;
        c.log_level = cfg.log_level;
        c.lock_key_memory = cfg.lock_key_memory ? 1 : 0;
        c.signer_priority = cfg.signer_priority;
        c.max_argument_bytes = cfg.max_argument_bytes;
        c.signer_realtime = cfg.signer_realtime;
        if (cfg.log) {
            state_->log = std::move(cfg.log);
            c.log = &chio_cpp_detail_log;
            c.log_ctx = state_.get();
        }
        if (cfg.clock) {
            state_->clock = std::move(cfg.clock);
            c.clock = &chio_cpp_detail_clock;
            c.clock_ctx = state_.get();
        }
        c.keypair = cfg.keypair.release(); // the kernel takes it in every case
        detail::c_error err;
        chio_kernel *k = nullptr;
        detail::check(chio_kernel_new(&c, &k, &err.e), &err.e, "chio_kernel_new");
        k_ = k;
    }

    kernel(kernel &&o) noexcept : k_(std::exchange(o.k_, nullptr)), state_(std::move(o.state_))
    {
    }
    kernel &operator=(kernel &&o) noexcept
    {
        if (this != &o) {
            reset();
            k_ = std::exchange(o.k_, nullptr);
            state_ = std::move(o.state_);
        }
        return *this;
    }
    kernel(const kernel &) = delete;
    kernel &operator=(const kernel &) = delete;
    ~kernel()
    {
        reset();
    }

    // ---- build phase (one thread, before the first open_session) ----

    // A tool server answering @tool_names; @fn gets (tool, canonical args JSON).
    void register_tool_server(const std::string &server_id,
                              const std::vector<std::string> &tool_names, tool_fn fn)
    {
        need();
        if (!fn)
            throw error(CHIO_EINVAL, "register_tool_server: empty tool function");
        std::vector<const char *> names;
        names.reserve(tool_names.size());
        for (const std::string &n : tool_names)
            names.push_back(detail::cstr(n, "tool name"));
        const char *sid = detail::cstr(server_id, "server id"); // checked before the holder is kept
        state_->tools.push_back(std::make_unique<detail::tool_holder>(
            detail::tool_holder{std::move(fn), state_.get()}));
        chio_tool_server s;
        std::memset(&s, 0, sizeof(s));
        s.server_id = sid;
        s.tool_names = names.empty() ? nullptr : names.data();
        s.ntools = names.size();
        s.invoke = &chio_cpp_detail_tool_invoke;
        s.user = state_->tools.back().get();
        detail::c_error err;
        int rc = chio_kernel_register_tool_server(k_, &s, &err.e);
        if (rc != 0) {
            state_->tools.pop_back(); // not retained by the kernel
            detail::check(rc, &err.e, "chio_kernel_register_tool_server");
        }
    }

    // A guard; guards run in the order added, the first deny stops the chain.
    void add_guard(const std::string &name, guard_fn fn)
    {
        need();
        if (!fn)
            throw error(CHIO_EINVAL, "add_guard: empty guard function");
        const char *cname = detail::cstr(name, "guard name"); // checked before the holder is kept
        state_->guards.push_back(std::make_unique<detail::guard_holder>(
            detail::guard_holder{std::move(fn), state_.get()}));
        detail::c_error err;
        int rc = chio_kernel_add_guard(k_, cname, &chio_cpp_detail_guard,
                                       state_->guards.back().get(), &err.e);
        if (rc != 0) {
            state_->guards.pop_back();
            detail::check(rc, &err.e, "chio_kernel_add_guard");
        }
    }

    // Denies when any string in the arguments starts with one of @prefixes.
    void add_forbidden_path_guard(const std::string &name, const std::vector<std::string> &prefixes)
    {
        need();
        std::vector<const char *> v = cstrs(prefixes, "path prefix");
        detail::c_error err;
        const char *cname = detail::cstr(name, "guard name");
        detail::check(chio_kernel_add_forbidden_path_guard(
                          k_, cname, v.empty() ? nullptr : v.data(), v.size(), &err.e),
                      &err.e, "chio_kernel_add_forbidden_path_guard");
    }

    // Would add_secret_leak_guard accept @pattern? Throws chio::error
    // (CHIO_EINVAL, with the reason) when not: a POSIX ERE read byte by
    // byte, with \w \W \s \S \b \B \< \>, no back-references or other
    // escaped letters, at most CHIO_SECRET_PATTERN_MAX_STATES states.
    static void check_secret_pattern(const std::string &pattern)
    {
        detail::c_error err;
        detail::check(chio_secret_pattern_check(detail::cstr(pattern, "pattern"), &err.e), &err.e,
                      "chio_secret_pattern_check");
    }

    // Would the kernel enforce a regex_match constraint with @pattern (read
    // as chio's Rust regex reads it)? Throws chio::error (CHIO_EINVAL, with
    // the reason) when not: such a grant would deny every call under it.
    static void check_regex_constraint(const std::string &pattern)
    {
        detail::c_error err;
        detail::check(chio_regex_constraint_check(detail::cstr(pattern, "pattern"), &err.e), &err.e,
                      "chio_regex_constraint_check");
    }

    // Denies when any string in the arguments matches one of @patterns
    // (POSIX ERE, as check_secret_pattern reads them).
    void add_secret_leak_guard(const std::string &name, const std::vector<std::string> &patterns)
    {
        need();
        std::vector<const char *> v = cstrs(patterns, "pattern");
        detail::c_error err;
        const char *cname = detail::cstr(name, "guard name");
        detail::check(chio_kernel_add_secret_leak_guard(k_, cname, v.empty() ? nullptr : v.data(),
                                                        v.size(), &err.e),
                      &err.e, "chio_kernel_add_secret_leak_guard");
    }

    // ---- serving (thread-safe) ----

    // Optional: open the store and start the signer threads now.
    void start()
    {
        enter();
        detail::c_error err;
        detail::check(chio_kernel_start(k_, &err.e), &err.e, "chio_kernel_start");
    }

    // Sign a capability with the kernel's key. @issued_at 0: the kernel's clock.
    // Note the order: @ttl_secs comes before @issued_at here (so that both
    // defaults can be left off), the reverse of chio_kernel_issue_capability()
    // and the Rust binding's issue_capability().
    capability issue_capability(const std::string &subject_hex, std::string_view scope_json,
                                std::uint64_t ttl_secs, std::uint64_t issued_at = 0,
                                const std::optional<std::string> &id = std::nullopt)
    {
        enter();
        chio_capability *c = nullptr;
        detail::c_error err;
        const char *cid = id ? detail::cstr(*id, "capability id") : nullptr;
        detail::check(chio_kernel_issue_capability(k_, cid, detail::cstr(subject_hex, "subject"),
                                                   scope_json.data(), scope_json.size(), issued_at,
                                                   ttl_secs, &c, &err.e),
                      &err.e, "chio_kernel_issue_capability");
        return capability(c);
    }

    // Opens a session for @agent_id holding @tokens (JSON texts); returns its id.
    // Opening the first session closes registration.
    std::string open_session(const std::string &agent_id, const std::vector<std::string> &tokens)
    {
        enter();
        std::vector<const char *> ptrs;
        std::vector<std::size_t> lens;
        ptrs.reserve(tokens.size());
        lens.reserve(tokens.size());
        for (const std::string &t : tokens) {
            ptrs.push_back(t.data());
            lens.push_back(t.size());
        }
        char id[CHIO_SESSION_ID_LEN + 1] = {0};
        detail::c_error err;
        const char *agent = detail::cstr(agent_id, "agent id");
        detail::check(chio_kernel_open_session(k_, agent, ptrs.empty() ? nullptr : ptrs.data(),
                                               lens.empty() ? nullptr : lens.data(), tokens.size(),
                                               id, &err.e),
                      &err.e, "chio_kernel_open_session");
        return std::string(id);
    }

    std::string open_session(const std::string &agent_id, const capability &token)
    {
        return open_session(agent_id, std::vector<std::string>{std::string(token.json())});
    }

    // Runs the pipeline. Returns the decision (allow/deny/incomplete) with its
    // committed receipt; throws chio::error when no receipt was committed.
    response evaluate(const call &c)
    {
        enter();
        chio_call cc;
        std::memset(&cc, 0, sizeof(cc));
        cc.session_id = detail::cstr(c.session_id, "session id");
        cc.request_id = c.request_id ? detail::cstr(*c.request_id, "request id") : nullptr;
        cc.capability_id = detail::cstr(c.capability_id, "capability id");
        cc.server_id = detail::cstr(c.server_id, "server id");
        cc.tool_name = detail::cstr(c.tool_name, "tool name");
        cc.arguments_json = c.arguments_json.empty() ? nullptr : c.arguments_json.data(); // "" = {}
        cc.arguments_len = c.arguments_json.size();
        chio_response r;
        chio_response_init(&r);
        detail::c_error err;
        int rc = chio_kernel_evaluate(k_, &cc, &r, &err.e);
        if (rc != 0) {
            chio_response_destroy(&r); // empty after an error, destroyed anyway
            detail::check(rc, &err.e, "chio_kernel_evaluate");
        }
        return response::take(r);
    }

    void revoke(const std::string &capability_id)
    {
        enter();
        detail::c_error err;
        const char *id = detail::cstr(capability_id, "capability id");
        detail::check(chio_kernel_revoke_capability(k_, id, &err.e), &err.e,
                      "chio_kernel_revoke_capability");
    }

    // True when @capability_id is revoked. Throws chio::error when libchio
    // could not answer (chio_kernel_is_revoked < 0: a kernel drained before
    // it started, a store that failed to open, ...), never a guess.
    bool is_revoked(const std::string &capability_id)
    {
        enter();
        int rc = chio_kernel_is_revoked(k_, detail::cstr(capability_id, "capability id"));
        if (rc < 0)
            detail::check(rc, nullptr, "chio_kernel_is_revoked");
        return rc == 1;
    }

    // Refuse new calls on the session; calls in flight finish.
    void begin_draining(const std::string &session_id)
    {
        enter();
        detail::c_error err;
        const char *id = detail::cstr(session_id, "session id");
        detail::check(chio_kernel_begin_draining_session(k_, id, &err.e), &err.e,
                      "chio_kernel_begin_draining_session");
    }

    // Throws CHIO_ESESSION_ACTIVE while calls are in flight (the session is then draining).
    void close_session(const std::string &session_id)
    {
        enter();
        detail::c_error err;
        detail::check(chio_kernel_close_session(k_, detail::cstr(session_id, "session id"), &err.e),
                      &err.e, "chio_kernel_close_session");
    }

    chio_session_state session_state(const std::string &session_id)
    {
        enter();
        chio_session_state st = CHIO_SESSION_INITIALIZING;
        detail::check(chio_kernel_session_state(k_, detail::cstr(session_id, "session id"), &st),
                      nullptr, "chio_kernel_session_state");
        return st;
    }

    // Stop accepting work, commit everything queued, join the threads.
    // Idempotent; never from a callback. The destructor drains too.
    void drain()
    {
        enter();
        if (detail::in_own_frame(state_.get(), true)) // a tool or guard of this kernel
            throw error(CHIO_EDEADLK, "chio::kernel::drain called from inside one of the "
                                      "kernel's own tools or guards, where it would wait for "
                                      "that very call");
        detail::c_error err;
        detail::check(chio_kernel_drain(k_, &err.e), &err.e, "chio_kernel_drain");
    }

    chio_kernel_metrics metrics() const
    {
        need();
        chio_kernel_metrics m;
        std::memset(&m, 0, sizeof(m));
        detail::check(chio_kernel_metrics_get(k_, &m), nullptr, "chio_kernel_metrics_get");
        return m;
    }

    // Requests holding a credit of the in-flight budget now (queued, signing,
    // awaiting commit or completion); at most the ring capacity.
    std::uint64_t in_flight() const
    {
        need();
        return chio_kernel_in_flight(k_);
    }

    // The kernel's public key, 64 lowercase hex digits.
    std::string public_hex() const
    {
        need();
        return detail::str_or_empty(chio_kernel_public_hex(k_));
    }

    explicit operator bool() const noexcept
    {
        return k_ != nullptr;
    }
    chio_kernel *get() const noexcept
    {
        return k_;
    }

  private:
    void need() const
    {
        if (k_ == nullptr)
            throw error(CHIO_EINVAL, "empty chio::kernel (moved-from or default-constructed)");
    }

    // need(), and refuses (CHIO_EDEADLK, nothing called) a call from inside
    // this kernel's own clock or log sink at any depth: libchio would wait
    // there for its own thread or relock a lock that thread holds (before
    // review 46 it saw only the innermost clock; detail::infra_frame).
    void enter() const
    {
        need();
        if (detail::in_own_infra(state_.get()))
            throw error(CHIO_EDEADLK, "libchio kernel called from inside its own clock or log "
                                      "sink (also through another kernel's); hand the work to "
                                      "a thread of the host's");
    }

    static std::vector<const char *> cstrs(const std::vector<std::string> &v, const char *what)
    {
        std::vector<const char *> out;
        out.reserve(v.size());
        for (const std::string &s : v)
            out.push_back(detail::cstr(s, what));
        return out;
    }

    // The kernel first (it drains and may still call the log sink), then the
    // callables. From inside one of this kernel's callables, at any depth
    // (also with callbacks of other kernels in between), the kernel and its
    // callables are leaked without draining, never freed under a running
    // call: a tool or guard runs inside a call drain would wait for; the
    // clock may run on the kernel's own commit thread, where drain would
    // wait for itself for good, and under the kernel's locks (revoke,
    // start); and before review 46 libchio saw only the innermost clock and
    // the first 4 kernels a thread is inside (detail::infra_frame). Otherwise (a
    // callable of the async API, which this header does not wrap) drain
    // says CHIO_EDEADLK and chio_kernel_free leaks the kernel itself.
    void reset() noexcept
    {
        chio_kernel *k = std::exchange(k_, nullptr);
        if (k != nullptr && detail::in_own_frame(state_.get(), true)) {
            static_cast<void>(state_.release());
            return;
        }
        if (k != nullptr && chio_kernel_drain(k, nullptr) == CHIO_EDEADLK) {
            chio_kernel_free(k); // frees nothing; logs kernel_free_from_callback
            static_cast<void>(state_.release());
            return;
        }
        chio_kernel_free(k);
        state_.reset();
    }

    chio_kernel *k_ = nullptr;
    std::unique_ptr<detail::kernel_state> state_;
};

// ---- small helpers ----------------------------------------------------------------------

inline std::string_view version() noexcept
{
    return chio_version();
}
inline std::string_view strerror(int code) noexcept
{
    return chio_strerror(code);
}
inline std::string_view errno_name(int code) noexcept
{
    return chio_errno_name(code);
}
// The reporting class of a result code ("unknown_session"; chio_errno_reason).
inline std::string_view errno_reason(int code) noexcept
{
    return chio_errno_reason(code);
}
// Older spelling of errno_name(), kept for source compatibility.
inline std::string_view err_name(int code) noexcept
{
    return chio_errno_name(code);
}
inline std::string_view code_name(chio_code c) noexcept
{
    const char *s = chio_code_name(c);
    return s != nullptr ? std::string_view(s) : std::string_view();
}

// Canonical JSON of @json (chio_json_canonicalize).
inline std::string canonical_json(std::string_view json)
{
    char *out = nullptr;
    std::size_t len = 0;
    detail::c_error err;
    detail::check(chio_json_canonicalize(json.data(), json.size(), &out, &len, &err.e), &err.e,
                  "chio_json_canonicalize");
    std::unique_ptr<char, decltype(&chio_free)> hold(out, &chio_free);
    return std::string(out, len);
}

} // namespace chio

#endif // CHIO_CHIO_HPP
