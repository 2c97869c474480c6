//! What the header-reading tests share (header_drift.rs,
//! rev55_config_fields.rs): the repository's root and the identifier
//! helpers they read C declarations with.

use std::path::{Path, PathBuf};

/// The repository's root (the crate sits in bindings/rust).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Can @c be part of a C identifier?
pub fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The last identifier of @s (none: "").
pub fn last_ident(s: &str) -> String {
    let t: String = s
        .trim_end_matches(|c: char| !is_ident(c))
        .chars()
        .rev()
        .take_while(|&c| is_ident(c))
        .collect();
    t.chars().rev().collect()
}
