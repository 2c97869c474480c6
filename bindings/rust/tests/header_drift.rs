//! `src/sys.rs` is written by hand; this test fails on any drift between it
//! and the C headers (`include/chio/*.h`, as the default library is built:
//! without `CHIO_OTEL`, whose API the crate does not bind).
//!
//! The C side is read through the C compiler, not by reading the headers
//! as text: `cc -E -dM` lists the object-like `CHIO_*` macros, `cc -E` gives
//! the declarations with every X-macro expanded, and a probe program built
//! from them prints each constant's value and each struct's size and field
//! offsets. Then:
//!
//! * every macro and enum constant is a `pub const` of sys.rs with the same
//!   value (integers compared as 64-bit patterns, strings as text), and
//!   sys.rs declares no `CHIO_*` constant the headers lack;
//! * every exported function is a `pub fn` of an `extern "C"` block with
//!   the same number of parameters, and sys.rs declares none the headers
//!   lack;
//! * every enum type and function-pointer typedef is a `pub type`, every
//!   opaque struct a `pub struct` with only `_opaque`, every struct with a
//!   body a `pub struct` with the same fields in the same order;
//! * the layout test in sys.rs asserts each struct's C size and every
//!   field's C offset (it then checks the Rust layout against them), so a
//!   field whose Rust type differs in size is caught too;
//! * every parameter and return type of every function, every field type
//!   and every function-pointer typedef is the C type: each sys.rs type is
//!   written as a C type name and a second probe asks the compiler
//!   (`__builtin_types_compatible_p`), so a `u32` for a `uint64_t`, an
//!   `i64` for a `uint64_t` or a `*const` for a non-const pointer fails
//!   even where the size and the count agree.
//!
//! `CC` picks the compiler (default `cc`).

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{is_ident, last_ident, repo_root};


fn cc() -> String {
    env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn umbrella() -> PathBuf {
    repo_root().join("include/chio/chio.h")
}

fn include_dir() -> PathBuf {
    repo_root().join("include")
}

// ---- the C side -------------------------------------------------------------------------

#[derive(Default)]
struct CApi {
    /// Object-like macros: name -> replacement text.
    macros: BTreeMap<String, String>,
    /// Enum constants, in declaration order.
    enum_consts: Vec<String>,
    /// Enum type names and function-pointer typedef names.
    types: BTreeSet<String>,
    /// Structs with a body: name -> field names in order.
    structs: BTreeMap<String, Vec<String>>,
    /// Structs only declared (opaque).
    opaque: BTreeSet<String>,
    /// Exported functions: name -> parameter count.
    functions: BTreeMap<String, usize>,
}

/// Split @s at top-level occurrences of @sep (outside (), [], {} and <>
/// when @angle).
fn split_top(s: &str, sep: char, angle: bool) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '<' if angle => depth += 1,
            '>' if angle && !cur.ends_with('-') => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

/// The text between the bracket at @open (inclusive) and its match.
fn matching(s: &str, open: usize) -> usize {
    let bytes = s.as_bytes();
    let (o, c) = match bytes[open] {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        _ => panic!("not a bracket"),
    };
    let mut depth = 0;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if b == o {
            depth += 1;
        } else if b == c {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    panic!("unbalanced brackets");
}



fn param_count(params: &str) -> usize {
    let p = params.trim();
    if p.is_empty() || p == "void" {
        0
    } else {
        split_top(p, ',', false).len()
    }
}

fn struct_fields(body: &str) -> Vec<String> {
    let mut fields = Vec::new();
    for decl in split_top(body, ';', false) {
        let decl = decl.trim();
        if decl.is_empty() {
            continue;
        }
        // A function pointer: the name is the one in "(*name)".
        if let Some(star) = decl.find("(*") {
            let end = decl[star..].find(')').unwrap() + star;
            fields.push(decl[star + 2..end].trim().to_string());
            continue;
        }
        // One or more declarators: "uint64_t a, b", "char x[33]".
        for d in split_top(decl, ',', false) {
            let d = d.split('[').next().unwrap();
            fields.push(last_ident(d));
        }
    }
    fields
}

/// What CHIO_EXTERN expands to (export.h).
const EXPORTED: &str = "__attribute__((visibility(\"default\")))";

fn read_c_api() -> CApi {
    let mut api = CApi::default();
    let inc = include_dir();

    let defs = run(Command::new(cc())
        .arg("-E")
        .arg("-dM")
        .arg("-I")
        .arg(&inc)
        .arg(umbrella()));
    for line in defs.lines() {
        let rest = match line.strip_prefix("#define ") {
            Some(rest) => rest,
            None => continue,
        };
        let name_end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        let name = &rest[..name_end];
        let after = &rest[name_end..];
        if !name.starts_with("CHIO_")
            || name.starts_with("CHIO__")
            || after.starts_with('(') // function-like (the X-macro tables)
            || name.ends_with("_H")
            || name == "CHIO_EXTERN"
        {
            continue;
        }
        api.macros.insert(name.to_string(), after.trim().to_string());
    }

    let text = run(Command::new(cc())
        .arg("-E")
        .arg("-P")
        .arg("-I")
        .arg(&inc)
        .arg(umbrella()));
    // Statements at file scope, split at ';' outside brackets.
    for stmt in split_top(&text, ';', false) {
        let stmt = stmt.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(rest) = stmt.strip_prefix("typedef enum ") {
            let open = rest.find('{').expect("enum body");
            let close = matching(rest, open);
            for e in split_top(&rest[open + 1..close], ',', false) {
                let name = e.split('=').next().unwrap().trim();
                if !name.is_empty() {
                    api.enum_consts.push(name.to_string());
                }
            }
            api.types.insert(last_ident(&rest[close..]));
        } else if let Some(rest) = stmt.strip_prefix("typedef struct ") {
            let tag = last_ident(&rest[..rest.find(|c: char| !is_ident(c)).unwrap()]);
            if !tag.starts_with("chio_") {
                continue;
            }
            match rest.find('{') {
                Some(open) => {
                    let close = matching(rest, open);
                    api.structs
                        .insert(tag, struct_fields(&rest[open + 1..close]));
                }
                None => {
                    api.opaque.insert(tag);
                }
            }
        } else if stmt.starts_with("typedef ") && stmt.contains("(*chio_") {
            let star = stmt.find("(*chio_").unwrap();
            let end = stmt[star..].find(')').unwrap() + star;
            api.types.insert(stmt[star + 2..end].to_string());
        } else if let Some(at) = stmt.find(EXPORTED) {
            let decl = &stmt[at + EXPORTED.len()..];
            let open = decl.find('(').expect("a function");
            let name = last_ident(&decl[..open]);
            let close = matching(decl, open);
            api.functions
                .insert(name, param_count(&decl[open + 1..close]));
        } else if let Some(rest) = stmt.strip_prefix("struct chio_") {
            // A forward declaration ("struct chio_keypair;").
            api.opaque.insert(format!("chio_{}", rest.trim()));
        }
    }
    api
}

/// Values of every constant and the layout of every struct, from a probe
/// program compiled against the headers.
struct Probe {
    values: BTreeMap<String, u64>,
    sizes: BTreeMap<String, u64>,
    offsets: BTreeMap<(String, String), u64>,
}

fn probe(api: &CApi) -> Probe {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join("chio_header_probe.c");
    let exe = dir.join("chio_header_probe");
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"chio/chio.h\"\n\
         #define V(n) printf(\"V %s %llu\\n\", #n, (unsigned long long)(n));\n\
         int main(void)\n{\n",
    );
    for (name, value) in &api.macros {
        if !value.starts_with('"') {
            c += &format!("V({name})\n");
        }
    }
    for name in &api.enum_consts {
        c += &format!("V({name})\n");
    }
    for (s, fields) in &api.structs {
        c += &format!("printf(\"S {s} %zu\\n\", sizeof({s}));\n");
        for f in fields {
            c += &format!("printf(\"F {s} {f} %zu\\n\", offsetof({s}, {f}));\n");
        }
    }
    c += "return 0;\n}\n";
    fs::write(&src, c).unwrap();
    run(Command::new(cc())
        .arg("-std=c11")
        .arg("-I")
        .arg(include_dir())
        .arg(&src)
        .arg("-o")
        .arg(&exe));
    let out = run(&mut Command::new(&exe));
    let mut p = Probe {
        values: BTreeMap::new(),
        sizes: BTreeMap::new(),
        offsets: BTreeMap::new(),
    };
    for line in out.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t[0] {
            "V" => {
                p.values.insert(t[1].into(), t[2].parse().unwrap());
            }
            "S" => {
                p.sizes.insert(t[1].into(), t[2].parse().unwrap());
            }
            "F" => {
                p.offsets.insert((t[1].into(), t[2].into()), t[3].parse().unwrap());
            }
            _ => unreachable!(),
        }
    }
    p
}

// ---- the Rust side -----------------------------------------------------------------------

enum RValue {
    Int(u64),
    Str(String),
}

#[derive(Default)]
struct RustApi {
    consts: BTreeMap<String, RValue>,
    types: BTreeSet<String>,
    structs: BTreeMap<String, Vec<String>>,
    functions: BTreeMap<String, usize>,
    /// `pub fn`s: name -> (parameter types, return type; "" for none).
    signatures: BTreeMap<String, (Vec<String>, String)>,
    /// Struct fields: (struct, field) -> Rust type.
    field_types: BTreeMap<(String, String), String>,
    /// `pub type X = Option<unsafe extern "C" fn ..>`: name -> the type.
    fn_types: BTreeMap<String, String>,
    sizes: BTreeMap<String, u64>,
    offsets: BTreeMap<(String, String), u64>,
}

/// A constant expression of sys.rs: integer literals (decimal or hex, `_`
/// allowed), `-`, `*`, `<<`, and `usize::MAX` / `u64::MAX`.
fn eval_int(expr: &str) -> Option<u64> {
    let expr = expr.trim();
    if let Some((a, b)) = expr.rsplit_once("<<") {
        return Some(eval_int(a)? << eval_int(b)?);
    }
    if let Some((a, b)) = expr.rsplit_once('*') {
        return Some(eval_int(a)?.wrapping_mul(eval_int(b)?));
    }
    if let Some(rest) = expr.strip_prefix('-') {
        return Some(eval_int(rest)?.wrapping_neg());
    }
    if expr == "usize::MAX" || expr == "u64::MAX" {
        return Some(u64::MAX);
    }
    let digits = expr.replace('_', "");
    match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => digits.parse().ok(),
    }
}

fn read_rust_api(src: &str) -> RustApi {
    let mut api = RustApi::default();
    // Line comments go; nothing in sys.rs puts "//" inside a string.
    let code: String = src
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub ") {
        rest = &rest[at + 4..];
        if let Some(r) = rest.strip_prefix("const ") {
            let end = r.find(';').unwrap();
            let (lhs, rhs) = r[..end].split_once('=').unwrap();
            let name = lhs.split(':').next().unwrap().trim().to_string();
            let rhs = rhs.trim();
            let value = if let Some(s) = rhs.strip_prefix('"') {
                RValue::Str(s.trim_end_matches('"').to_string())
            } else {
                RValue::Int(eval_int(rhs).unwrap_or_else(|| panic!("cannot read {name} = {rhs}")))
            };
            api.consts.insert(name, value);
        } else if let Some(r) = rest.strip_prefix("type ") {
            let (name, ty) = r[..r.find(';').unwrap()].split_once('=').unwrap();
            let name = last_ident(name);
            if ty.trim().starts_with("Option<") {
                api.fn_types.insert(name.clone(), flat(ty));
            }
            api.types.insert(name);
        } else if let Some(r) = rest.strip_prefix("struct ") {
            let open = r.find('{').unwrap();
            let name = r[..open].trim().to_string();
            let close = matching(r, open);
            let mut fields = Vec::new();
            for f in split_top(&r[open + 1..close], ',', true) {
                let (n, ty) = match f.split_once(':') {
                    Some(nt) => nt,
                    None => continue,
                };
                let n = n.trim().trim_start_matches("pub ").trim().to_string();
                api.field_types.insert((name.clone(), n.clone()), flat(ty));
                fields.push(n);
            }
            api.structs.insert(name, fields);
        } else if let Some(r) = rest.strip_prefix("fn ") {
            let open = r.find('(').unwrap();
            let name = r[..open].trim().to_string();
            let close = matching(r, open);
            let params = r[open + 1..close].trim().trim_end_matches(',');
            let types: Vec<String> = if params.trim().is_empty() {
                Vec::new()
            } else {
                split_top(params, ',', true)
                    .iter()
                    .map(|p| flat(p.split_once(':').unwrap().1))
                    .collect()
            };
            let tail = &r[close + 1..r[close..].find(';').unwrap() + close];
            let ret = flat(tail.trim().strip_prefix("->").unwrap_or(""));
            api.functions.insert(name.clone(), types.len());
            api.signatures.insert(name, (types, ret));
        }
    }
    // The layout test's numbers (rustfmt may wrap an assertion: read them
    // with all whitespace removed).
    let flat: String = code.split_whitespace().collect();
    for piece in flat.split("assert_eq!(").skip(1) {
        if let Some(r) = piece.strip_prefix("size_of::<") {
            let (name, n) = r.split_once(">(),").unwrap();
            let n = &n[..n.find(')').unwrap()];
            api.sizes.insert(name.into(), n.parse().unwrap());
        } else if let Some(r) = piece.strip_prefix("offset_of!(") {
            let (sf, n) = r.split_once("),").unwrap();
            let (s, f) = sf.split_once(',').unwrap();
            let n = &n[..n.find(')').unwrap()];
            api.offsets.insert((s.into(), f.into()), n.parse().unwrap());
        }
    }
    api
}

// ---- types: sys.rs types as C type names -------------------------------------------------

/// One line, single spaces (sys.rs wraps long types).
fn flat(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The C type name of a sys.rs type, built from `__typeof__` so that any
/// nesting stays one valid type name: `*const c_char` is
/// `__typeof__(char) const *`, `[u8; 32]` is `__typeof__(uint8_t)[32]`, and
/// `Option<unsafe extern "C" fn(..) -> R>` a pointer to that function type.
/// A sys.rs function-pointer alias (`chio_sign_cb`, `chio_invoke_fn`) is
/// expanded from its Rust definition, so it is checked, not trusted; enum
/// aliases keep their C name.
fn c_type(t: &str, fn_types: &BTreeMap<String, String>) -> String {
    let t = t.trim();
    if let Some(x) = t.strip_prefix("*const ") {
        return format!("__typeof__({}) const *", c_type(x, fn_types));
    }
    if let Some(x) = t.strip_prefix("*mut ") {
        return format!("__typeof__({}) *", c_type(x, fn_types));
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        let (elem, n) = inner.rsplit_once(';').expect("[T; N]");
        return format!("__typeof__({})[{}]", c_type(elem, fn_types), n.trim());
    }
    if let Some(inner) = t.strip_prefix("Option<").and_then(|x| x.strip_suffix('>')) {
        let f = inner.trim().trim_end_matches(',');
        let f = f.strip_prefix("unsafe extern \"C\" fn").expect("an extern fn");
        let open = f.find('(').unwrap();
        let close = matching(f, open);
        let params: Vec<String> = split_top(&f[open + 1..close], ',', true)
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| format!("__typeof__({})", c_type(p.split_once(':').unwrap().1, fn_types)))
            .collect();
        let ret = f[close + 1..].trim().strip_prefix("->").unwrap_or("()");
        let params = if params.is_empty() { "void".to_string() } else { params.join(", ") };
        return format!("__typeof__({}) (*)({params})", c_type(ret, fn_types));
    }
    match t {
        "()" | "c_void" => "void".into(),
        "c_char" => "char".into(),
        "c_int" => "int".into(),
        "c_long" => "long".into(),
        "u8" => "uint8_t".into(),
        "u32" => "uint32_t".into(),
        "u64" => "uint64_t".into(),
        "i64" => "int64_t".into(),
        "usize" => "size_t".into(),
        "f64" => "double".into(),
        name => match fn_types.get(name) {
            Some(def) => c_type(def, fn_types),
            None => name.to_string(),
        },
    }
}

/// Compiles a probe that asks the C compiler, for every function, struct
/// field and function-pointer typedef, whether the type sys.rs gives it is
/// the C type (`__builtin_types_compatible_p`); returns the mismatches.
fn type_mismatches(c: &CApi, r: &RustApi) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join("chio_header_types.c");
    let exe = dir.join("chio_header_types");
    let mut checks = Vec::new();
    for (name, (params, ret)) in &r.signatures {
        if !c.functions.contains_key(name) {
            continue;
        }
        let ptr = format!(
            "Option<unsafe extern \"C\" fn({}) -> {}>",
            params.iter().map(|p| format!("_: {p}")).collect::<Vec<_>>().join(", "),
            if ret.is_empty() { "()" } else { ret }
        );
        checks.push((format!("__typeof__(&{name})"), c_type(&ptr, &r.fn_types), format!("fn {name}")));
    }
    for (s, fields) in &c.structs {
        for f in fields {
            if let Some(t) = r.field_types.get(&(s.clone(), f.clone())) {
                checks.push((
                    format!("__typeof__((({s} *)0)->{f})"),
                    c_type(t, &r.fn_types),
                    format!("field {s}.{f}: {t}"),
                ));
            }
        }
    }
    for (name, def) in &r.fn_types {
        if c.types.contains(name) {
            checks.push((name.clone(), c_type(def, &r.fn_types), format!("type {name}")));
        }
    }
    let mut prog = String::from(
        "#include <stdio.h>\n#include <stdint.h>\n#include \"chio/chio.h\"\nint main(void)\n{\n",
    );
    for (a, b, what) in &checks {
        prog += &format!(
            "    if (!__builtin_types_compatible_p({a}, __typeof__({b})))\n        puts(\"{}\");\n",
            what.replace('"', "\\\"")
        );
    }
    prog += "    return 0;\n}\n";
    fs::write(&src, prog).unwrap();
    run(Command::new(cc())
        .arg("-std=c11")
        .arg("-I")
        .arg(include_dir())
        .arg(&src)
        .arg("-o")
        .arg(&exe));
    assert!(checks.len() > 300, "only {} type checks generated", checks.len());
    run(&mut Command::new(&exe)).lines().map(|l| format!("{l}: not the C type")).collect()
}

/// A C string literal's text (the probe prints none: the macro text is it).
fn c_string(lit: &str) -> String {
    lit.trim().trim_matches('"').to_string()
}

#[test]
fn sys_rs_matches_the_c_headers() {
    let c = read_c_api();
    let p = probe(&c);
    let sys = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sys.rs")).unwrap();
    let r = read_rust_api(&sys);
    let mut problems = Vec::new();

    // Sanity: the readers found what is certainly there.
    assert!(c.functions.contains_key("chio_kernel_evaluate") && c.functions.len() > 100);
    assert!(c.structs.contains_key("chio_call") && c.opaque.contains("chio_kernel"));
    assert!(c.enum_consts.iter().any(|e| e == "CHIO_ECANCELLED"));
    assert!(r.functions.contains_key("chio_kernel_evaluate"));

    // Constants.
    let mut c_consts = BTreeSet::new();
    for (name, text) in &c.macros {
        c_consts.insert(name.clone());
        match (r.consts.get(name), text.starts_with('"')) {
            (None, _) => problems.push(format!("constant {name} ({text}) missing from sys.rs")),
            (Some(RValue::Str(s)), true) if *s == c_string(text) => {}
            (Some(RValue::Int(v)), false) if *v == p.values[name] => {}
            _ => problems.push(format!("constant {name}: sys.rs value differs from C ({text})")),
        }
    }
    for name in &c.enum_consts {
        c_consts.insert(name.clone());
        match r.consts.get(name) {
            None => problems.push(format!("enum constant {name} missing from sys.rs")),
            Some(RValue::Int(v)) if *v == p.values[name] => {}
            _ => problems.push(format!(
                "enum constant {name}: sys.rs value differs from C ({})",
                p.values[name] as i64
            )),
        }
    }
    for name in r.consts.keys() {
        if name.starts_with("CHIO_") && !c_consts.contains(name) {
            problems.push(format!("sys.rs declares {name}, which the headers do not have"));
        }
    }

    // Functions.
    for (name, n) in &c.functions {
        match r.functions.get(name) {
            None => problems.push(format!("function {name} missing from sys.rs")),
            Some(m) if m != n => {
                problems.push(format!("function {name}: {m} parameters in sys.rs, {n} in C"))
            }
            _ => {}
        }
    }
    for name in r.functions.keys() {
        if !c.functions.contains_key(name) {
            problems.push(format!("sys.rs declares fn {name}, which the headers do not have"));
        }
    }

    // Types.
    for t in &c.types {
        if !r.types.contains(t) {
            problems.push(format!("type {t} missing from sys.rs (pub type)"));
        }
    }
    for t in &c.opaque {
        match r.structs.get(t) {
            Some(f) if f == &["_opaque".to_string()] => {}
            Some(_) => problems.push(format!("opaque {t} has fields in sys.rs")),
            None => problems.push(format!("opaque struct {t} missing from sys.rs")),
        }
    }
    for (s, fields) in &c.structs {
        match r.structs.get(s) {
            None => problems.push(format!("struct {s} missing from sys.rs")),
            Some(rf) if rf != fields => {
                problems.push(format!("struct {s}: fields {rf:?} in sys.rs, {fields:?} in C"))
            }
            _ => {}
        }
        match r.sizes.get(s) {
            Some(n) if *n == p.sizes[s] => {}
            _ => problems.push(format!(
                "sys.rs layout test: size_of::<{s}>() must be asserted as {}",
                p.sizes[s]
            )),
        }
        for f in fields {
            let key = (s.clone(), f.clone());
            match r.offsets.get(&key) {
                Some(n) if *n == p.offsets[&key] => {}
                _ => problems.push(format!(
                    "sys.rs layout test: offset_of!({s}, {f}) must be asserted as {}",
                    p.offsets[&key]
                )),
            }
        }
    }
    for s in r.structs.keys() {
        if s.starts_with("chio_") && !c.structs.contains_key(s) && !c.opaque.contains(s) {
            problems.push(format!("sys.rs declares struct {s}, which the headers do not have"));
        }
    }

    assert!(
        problems.is_empty(),
        "sys.rs has drifted from include/chio/*.h ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Beyond names, counts and layout: every parameter and return type of
/// every function, every field type and every function-pointer typedef of
/// sys.rs is the C type (a `u32` for a `uint64_t` timeout, an `int` for a
/// `size_t` length or a `*mut` for a `const` pointer keep the count and,
/// for fields, sometimes the offsets; this catches them).
#[test]
fn sys_rs_types_match_the_c_headers() {
    let c = read_c_api();
    let sys = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sys.rs")).unwrap();
    let r = read_rust_api(&sys);
    let problems = type_mismatches(&c, &r);
    assert!(
        problems.is_empty(),
        "sys.rs types differ from include/chio/*.h ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
