//! Review 32: secret_leak patterns are checked the way the kernel reads
//! them (`Kernel::check_secret_pattern`, `chio_secret_pattern_check`), and
//! a pattern the kernel does not read fails registration with the reason.

use chio::{code, Kernel};

#[test]
fn secret_patterns_are_checked_before_a_kernel_is_built() {
    for ok in ["AKIA[0-9A-Z]{16}", "\\bghp_[A-Za-z0-9]{36}\\b", "sk-[A-Za-z0-9_-]{20,}"] {
        assert!(Kernel::check_secret_pattern(ok).is_ok(), "{ok}");
    }
    for bad in ["(a)\\1", "\\d{4}", "x{1,9000}", "[a-", "a\0b"] {
        let e = Kernel::check_secret_pattern(bad).expect_err(bad);
        assert_eq!(e.code, code::EINVAL, "{bad}: {e}");
        assert!(!e.to_string().is_empty(), "{bad}");
    }
}

/// Session 33: a regex_match constraint's pattern is checked as the
/// kernel reads a token's pattern (chio's syntax), before a token is issued.
#[test]
fn regex_constraints_are_checked_as_the_kernel_reads_them() {
    for ok in ["^(?:ab)+$", "^[a-z0-9_]{1,64}$", "^/workspace/.*"] {
        assert!(Kernel::check_regex_constraint(ok).is_ok(), "{ok}");
    }
    for bad in ["(", "^\\d+$", "x{1,32767}", "(?i)abc", "a\0b"] {
        let e = Kernel::check_regex_constraint(bad).expect_err(bad);
        assert_eq!(e.code, code::EINVAL, "{bad}: {e}");
        assert!(!e.to_string().is_empty(), "{bad}");
    }
}
