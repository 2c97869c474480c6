//! Review 33, key secrecy: no message or `Debug` output of the binding
//! holds a seed.
//!
//! `Keypair::from_seed_file` quoted its path in every refusal, so a seed
//! passed in place of its file's path (`from_seed_file(&seed_hex)`, a
//! configuration field holding the seed instead of the path) came back in
//! the error ("cannot open seed file 1f2e...: No such file or directory"),
//! which a host logs or a `panic!`/`unwrap` prints. Now a path made only
//! of hex digits (32 or more, after an optional `0x`) is not shown, as in
//! the `chio` CLI.

use chio::{KernelBuilder, Keypair};

const SEED33: &str = "5eed33c0ffee0123456789abcdef0011223344556677889900aabbccddeeff33";

/// Whether @text holds 16 consecutive digits of SEED33, in either case.
fn quotes_seed(text: &str) -> bool {
    let low = text.to_ascii_lowercase();
    (0..=SEED33.len() - 16).any(|w| low.contains(&SEED33[w..w + 16]))
}

#[test]
fn a_seed_given_as_the_seed_files_path_is_not_in_the_error() {
    let upper = SEED33.to_ascii_uppercase();
    let prefixed = format!("0x{SEED33}");
    // Review 7: a seed read from its file (its newline kept), or with any
    // other text around it, came back whole.
    let newline = format!("{SEED33}\n");
    let spaced = format!(" {SEED33} ");
    let dotted = format!("./{SEED33}");
    let colon = format!("seed:{SEED33}\r\n");
    for path in [
        SEED33,
        upper.as_str(),
        prefixed.as_str(),
        newline.as_str(),
        spaced.as_str(),
        dotted.as_str(),
        colon.as_str(),
    ] {
        let e = Keypair::from_seed_file(path).unwrap_err();
        assert!(
            !quotes_seed(&e.message),
            "message quotes the seed: {}",
            e.message
        );
        assert!(
            !quotes_seed(&format!("{e:?}")),
            "Debug quotes the seed: {e:?}"
        );
        assert!(
            !quotes_seed(&format!("{e}")),
            "Display quotes the seed: {e}"
        );
        assert!(e.message.contains("not shown"), "{}", e.message);
    }
    // A path that is not hex only is still named.
    let e = Keypair::from_seed_file("/nonexistent/kernel.seed").unwrap_err();
    assert!(
        e.message.contains("/nonexistent/kernel.seed"),
        "{}",
        e.message
    );
}

#[test]
fn debug_output_of_keys_and_builders_holds_no_seed() {
    let kp = Keypair::from_seed_hex(SEED33).unwrap();
    assert!(!quotes_seed(&format!("{kp:?}")), "{kp:?}");
    let b = KernelBuilder::new(kp, "p");
    assert!(!quotes_seed(&format!("{b:?}")), "{b:?}");
    for bad in [
        &SEED33[..63],
        &format!("{SEED33}\n"),
        &format!("{SEED33}0"),
        &format!(" {SEED33}"),
    ] {
        let e = Keypair::from_seed_hex(bad).unwrap_err();
        assert!(!quotes_seed(&format!("{e:?} {e}")), "{e:?}");
    }
}
