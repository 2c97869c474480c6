//! Review 55 (bindings, API F1): every field of `chio_kernel_config`
//! (include/chio/kernel.h) has a counterpart in both safe layers, so that
//! docs/configuration.md's "the C++ binding's `chio::kernel::config` and the
//! Rust `KernelBuilder` carry the same fields" stays true. Before review 55
//! neither layer had `lock_key_memory`, `signer_priority`,
//! `max_argument_bytes` or `signer_realtime`, and nothing noticed.
//!
//! The sources are read as text (header_drift.rs checks sys.rs against the
//! compiler; this checks the layers above it). For each field, except the
//! reserved ones:
//!
//! * `KernelBuilder` has a `pub fn` of that name (or the one named in
//!   `RENAMED` / a parameter of `KernelBuilder::new`), and `build` assigns
//!   `cfg.<field>`;
//! * `chio::kernel::config` has a member of that name (or the one in
//!   `RENAMED`), and `kernel(config cfg)` assigns `c.<field>`.
//!
//! A field without a counterpart of its own name needs an entry in
//! `RENAMED` or `CARRIED`, saying where it lives: a new C field fails here
//! until both layers carry it.

use std::collections::BTreeSet;
use std::fs;

mod common;
use common::{is_ident, last_ident, repo_root};

/// Fields whose counterpart has another name: (C field, Rust, C++).
/// A Rust name `new:x` is parameter `x` of `KernelBuilder::new`.
const RENAMED: &[(&str, &str, &str)] = &[
    ("keypair", "new:keypair", "keypair"),
    ("policy_hash", "new:policy_hash", "policy_hash"),
    ("ca_public_keys", "ca_public_keys", "ca_public_keys_hex"),
    ("receipt_store_path", "receipt_store", "receipt_store_path"),
    ("retention_config", "retention", "retention_config"),
    ("log", "log_sink", "log"),
];

/// Fields set by the layer from another one (a length, a callback's
/// context): (C field, the field that carries it). They need no setter of
/// their own, but `build` and the C++ constructor still assign them.
const CARRIED: &[(&str, &str)] = &[
    ("n_ca_public_keys", "ca_public_keys"),
    ("clock_ctx", "clock"),
    ("log_ctx", "log"),
];

fn read(rel: &str) -> String {
    let p = repo_root().join(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// @s without C comments (block and line); string and character
/// literals are kept whole, so a `//` inside one is no comment.
fn strip_c_comments(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().map_or(false, |&n| n != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                out.push(' ');
            }
            '"' | '\'' => {
                out.push(c);
                while let Some(n) = chars.next() {
                    out.push(n);
                    if n == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if n == c {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The text between @start (after it) and the first @end that follows.
fn between<'a>(s: &'a str, start: &str, end: &str, what: &str) -> &'a str {
    let from = s
        .find(start)
        .unwrap_or_else(|| panic!("{what}: `{start}` not found"))
        + start.len();
    let len = s[from..]
        .find(end)
        .unwrap_or_else(|| panic!("{what}: `{end}` not found"));
    &s[from..from + len]
}

/// chio_kernel_config's field names, in order, reserved ones left out.
fn c_fields(header: &str) -> Vec<String> {
    let text = strip_c_comments(header);
    let body = between(
        &text,
        "typedef struct chio_kernel_config {",
        "} chio_kernel_config;",
        "kernel.h",
    );
    body.split(';')
        .map(|decl| {
            // `void *reserved[5]`: the name is before the brackets.
            let decl = decl.split('[').next().unwrap();
            last_ident(decl)
        })
        .filter(|name| !name.is_empty() && !name.starts_with("reserved"))
        .collect()
}

/// The `pub fn` names of `impl KernelBuilder` (its block ends at a line
/// that is a lone `}`, as rustfmt writes it), and the source of `new`'s
/// parameter list and of `build`'s body up to `chio_kernel_new`.
struct RustLayer {
    methods: BTreeSet<String>,
    new_params: String,
    build_body: String,
}

fn rust_layer() -> RustLayer {
    let dir = repo_root().join("bindings/rust/src");
    let mut found = None;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().map_or(false, |e| e == "rs") && !path.ends_with("sys.rs") {
            let text = fs::read_to_string(&path).unwrap();
            if text.contains("\nimpl KernelBuilder {\n") {
                assert!(found.is_none(), "two `impl KernelBuilder` blocks");
                found = Some(text);
            }
        }
    }
    let text = found.expect("no `impl KernelBuilder {` in bindings/rust/src");
    let block = between(
        &text,
        "\nimpl KernelBuilder {\n",
        "\n}\n",
        "impl KernelBuilder",
    );
    let methods = block
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub fn "))
        .map(|rest| rest.chars().take_while(|&c| is_ident(c)).collect())
        .collect();
    RustLayer {
        methods,
        new_params: between(block, "pub fn new(", ")", "KernelBuilder::new").to_string(),
        build_body: between(block, "pub fn build(self)", "chio_kernel_new", "build").to_string(),
    }
}

/// The members of `chio::kernel::config` (declarations at the struct's own
/// level, ending in `;`, not functions), and the source of the constructor
/// `kernel(config cfg)` up to `chio_kernel_new`.
struct CppLayer {
    members: BTreeSet<String>,
    ctor_body: String,
}

fn cpp_layer() -> CppLayer {
    let hpp = read("bindings/cpp/chio.hpp");
    let text = strip_c_comments(&hpp);
    let body = between(&text, "struct config {", "\n    };", "chio::kernel::config");
    let mut members = BTreeSet::new();
    let mut depth = 0i32;
    for line in body.lines() {
        let t = line.trim();
        if depth == 0 && t.ends_with(';') && !t.contains('(') {
            let decl = t.split('=').next().unwrap().trim_end_matches(';');
            members.insert(last_ident(decl));
        }
        depth += t.matches('{').count() as i32 - t.matches('}').count() as i32;
    }
    CppLayer {
        members,
        ctor_body: between(
            &text,
            "explicit kernel(config cfg)",
            "chio_kernel_new",
            "kernel(config)",
        )
        .to_string(),
    }
}

/// Whether @body assigns `@var.@field` (the field itself, or one of its own
/// fields: `c.retention_config.enabled = ...`).
fn assigns(body: &str, var: &str, field: &str) -> bool {
    let pat = format!("{var}.{field}");
    body.match_indices(&pat).any(|(i, _)| {
        let after = &body[i + pat.len()..];
        let before_ok = body[..i]
            .chars()
            .last()
            .map_or(true, |c| !is_ident(c) && c != '.');
        before_ok && (after.trim_start().starts_with("= ") || after.starts_with('.'))
    })
}

fn renamed(field: &str) -> Option<(&'static str, &'static str)> {
    RENAMED.iter().find(|r| r.0 == field).map(|r| (r.1, r.2))
}

fn carried(field: &str) -> Option<&'static str> {
    CARRIED.iter().find(|r| r.0 == field).map(|r| r.1)
}

#[test]
fn the_header_is_read() {
    let fields = c_fields(&read("include/chio/kernel.h"));
    // A parser gone wrong would pass everything below: hold it to fields
    // that are known to be there, first and last.
    assert_eq!(
        fields.first().map(String::as_str),
        Some("keypair"),
        "{fields:?}"
    );
    for f in [
        "policy_hash",
        "retention_config",
        "log_level",
        "signer_realtime",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not found in {fields:?}");
    }
    assert!(fields.len() >= 28, "{fields:?}");
    // The tables name only fields that exist: a stale entry hides nothing.
    for name in RENAMED
        .iter()
        .map(|r| r.0)
        .chain(CARRIED.iter().map(|r| r.0))
    {
        assert!(
            fields.iter().any(|x| x == name),
            "table entry {name} is no field of chio_kernel_config"
        );
    }
    let rust = rust_layer();
    for m in ["ephemeral_store", "durability", "build"] {
        assert!(
            rust.methods.contains(m),
            "{m} not found in {:?}",
            rust.methods
        );
    }
    let cpp = cpp_layer();
    for m in ["keypair", "ephemeral_store", "log", "clock"] {
        assert!(
            cpp.members.contains(m),
            "{m} not found in {:?}",
            cpp.members
        );
    }
}

#[test]
fn every_config_field_has_a_kernel_builder_setter() {
    let rust = rust_layer();
    let mut missing = Vec::new();
    for field in c_fields(&read("include/chio/kernel.h")) {
        let ok = match (renamed(&field), carried(&field)) {
            (_, Some(_)) => true,
            (Some((name, _)), None) => match name.strip_prefix("new:") {
                Some(param) => rust.new_params.contains(&format!("{param}:")),
                None => rust.methods.contains(name),
            },
            (None, None) => rust.methods.contains(&field),
        };
        if !ok {
            missing.push(field.clone());
        } else if !assigns(&rust.build_body, "cfg", &field) {
            missing.push(format!("{field} (never assigned in build)"));
        }
    }
    assert!(
        missing.is_empty(),
        "chio_kernel_config fields with no KernelBuilder counterpart: {missing:?}\n\
         add a builder method (bindings/rust/src/config.rs) with the C default, or an entry in \
         RENAMED / CARRIED of this test"
    );
}

#[test]
fn every_config_field_is_a_cpp_config_member() {
    let cpp = cpp_layer();
    let mut missing = Vec::new();
    for field in c_fields(&read("include/chio/kernel.h")) {
        let ok = match (renamed(&field), carried(&field)) {
            (_, Some(_)) => true,
            (Some((_, name)), None) => cpp.members.contains(name),
            (None, None) => cpp.members.contains(&field),
        };
        if !ok {
            missing.push(field.clone());
        } else if !assigns(&cpp.ctor_body, "c", &field) {
            missing.push(format!("{field} (never assigned by kernel(config))"));
        }
    }
    assert!(
        missing.is_empty(),
        "chio_kernel_config fields with no chio::kernel::config counterpart: {missing:?}\n\
         add a member (bindings/cpp/chio.hpp) with the C default, or an entry in RENAMED / \
         CARRIED of this test"
    );
}
