#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod sys;

// The safe layer, one module per concern; everything public is re-exported
// here, so every item's path is `chio::Item`.
mod callback_types;
mod callbacks;
mod capability;
mod config;
mod error;
mod kernel;
mod keys;
mod receipt;
mod session;
#[cfg(unix)]
mod seed_file;
mod strings;

pub use callback_types::{GuardDecision, GuardInput, GuardVerdict, NestedKind, ToolContext};
pub use capability::Capability;
pub use config::{Durability, KernelBuilder, LogLevel, Retention};
pub use error::Error;
pub use kernel::Kernel;
pub use keys::{ed25519_verify, public_key_from_hex, Keypair};
pub use receipt::{Receipt, ReceiptReport, Verdict};
pub use session::{Call, Metrics, Response, SessionId, SessionState};

use strings::static_str;

/// Longest wall time of one streamed tool result, in seconds, unless the
/// kernel is configured otherwise (spec/kernel.md exports the three
/// defaults under upstream chio-kernel's names; the C header's are
/// `CHIO_DEFAULT_*`).
pub const DEFAULT_MAX_STREAM_DURATION_SECS: u64 = sys::CHIO_DEFAULT_MAX_STREAM_DURATION_SECS;
/// Most canonical payload bytes in one streamed result (256 MiB).
pub const DEFAULT_MAX_STREAM_TOTAL_BYTES: u64 = sys::CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES;
/// Receipts per signed Merkle checkpoint.
pub const DEFAULT_CHECKPOINT_BATCH_SIZE: u64 = sys::CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// libchio's result codes (`CHIO_E*`), as found in [`Error::code`].
///
/// The numbers are part of libchio's ABI and never change.
pub mod code {
    pub use crate::sys::{
        CHIO_EAGAIN as EAGAIN, CHIO_EBADSIG as EBADSIG, CHIO_EBUSY as EBUSY, CHIO_ECANCELLED as ECANCELLED,
        CHIO_ECONFIG as ECONFIG, CHIO_ECORRUPT as ECORRUPT, CHIO_ECRYPTO as ECRYPTO,
        CHIO_EDEADLK as EDEADLK, CHIO_EDENIED as EDENIED, CHIO_EDRAINED as EDRAINED, CHIO_EDUPLICATE as EDUPLICATE,
        CHIO_EFAILED as EFAILED, CHIO_EFORMAT as EFORMAT, CHIO_EHASH as EHASH, CHIO_EHEX as EHEX,
        CHIO_EINVAL as EINVAL, CHIO_EIO as EIO, CHIO_EJSON_CONTROL as EJSON_CONTROL,
        CHIO_EJSON_DEPTH as EJSON_DEPTH, CHIO_EJSON_DUPKEY as EJSON_DUPKEY,
        CHIO_EJSON_NULKEY as EJSON_NULKEY, CHIO_EJSON_NUMBER as EJSON_NUMBER,
        CHIO_EJSON_SURROGATE as EJSON_SURROGATE, CHIO_EJSON_SYNTAX as EJSON_SYNTAX,
        CHIO_EJSON_TRAILING as EJSON_TRAILING, CHIO_EJSON_TRUNCATED as EJSON_TRUNCATED,
        CHIO_EJSON_UTF8 as EJSON_UTF8, CHIO_EKEY as EKEY, CHIO_ELIMIT as ELIMIT, CHIO_ENOCAP as ENOCAP,
        CHIO_ENOMEM as ENOMEM, CHIO_ENOSESSION as ENOSESSION, CHIO_ENOTFOUND as ENOTFOUND,
        CHIO_ENOTMINE as ENOTMINE, CHIO_EPROOF as EPROOF, CHIO_ERANGE as ERANGE,
        CHIO_ESCHEMA as ESCHEMA, CHIO_ESEED_LENGTH as ESEED_LENGTH,
        CHIO_ESEED_NEWLINE as ESEED_NEWLINE, CHIO_ESEED_NONHEX as ESEED_NONHEX,
        CHIO_ESEED_ODD as ESEED_ODD, CHIO_ESEED_SPACE as ESEED_SPACE, CHIO_ESEMANTIC as ESEMANTIC,
        CHIO_ESERVING as ESERVING, CHIO_ESESSION_ACTIVE as ESESSION_ACTIVE,
        CHIO_ESESSION_CLOSED as ESESSION_CLOSED, CHIO_ESESSION_DRAINING as ESESSION_DRAINING,
        CHIO_ESIGFORMAT as ESIGFORMAT, CHIO_ESTORE as ESTORE, CHIO_ESTREAM_LIMIT as ESTREAM_LIMIT,
        CHIO_ESYS as ESYS, CHIO_ETOOBIG as ETOOBIG, CHIO_EWEB3 as EWEB3, CHIO_OK as OK,
    };
}

/// The version string of the linked libchio (`CHIO_VERSION_STRING`).
pub fn version() -> &'static str {
    // SAFETY: chio_version returns a static NUL-terminated string.
    unsafe { static_str(sys::chio_version()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strings::clip;

    const SEED_07: &str = "0707070707070707070707070707070707070707070707070707070707070707";
    const PUB_07: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<Kernel>();
        assert_send_sync::<Keypair>();
        assert_send_sync::<Receipt>();
        assert_send_sync::<Capability>();
        assert_send_sync::<Response>();
        assert_send_sync::<Error>();
        assert_send_sync::<KernelBuilder>();
    }

    #[test]
    fn keypair_from_seed() {
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        assert_eq!(kp.public_hex(), PUB_07);
        assert_eq!(kp.public_key(), public_key_from_hex(PUB_07).unwrap());
        let sig = kp.sign(b"hello").unwrap();
        assert!(ed25519_verify(&kp.public_key(), b"hello", &sig).unwrap());
        assert!(!ed25519_verify(&kp.public_key(), b"hellO", &sig).unwrap());
        assert!(format!("{kp:?}").contains(PUB_07));
    }

    #[test]
    fn seed_errors_map_to_codes() {
        let e = Keypair::from_seed_hex("abc").unwrap_err();
        assert_eq!(e.code, code::ESEED_ODD);
        assert_eq!(e.name, "CHIO_ESEED_ODD");
        assert!(!e.message.is_empty());
        let e = Keypair::from_seed_hex(&format!("{SEED_07}\n")).unwrap_err();
        assert_eq!(e.code, code::ESEED_NEWLINE);
        let e = Keypair::from_seed_hex("zz").unwrap_err();
        assert_eq!(e.code, code::ESEED_NONHEX);
        let e = Keypair::from_seed_hex("").unwrap_err();
        assert_eq!(e.code, code::ESEED_LENGTH);
        let shown = e.to_string();
        assert!(shown.starts_with("CHIO_ESEED_LENGTH (-14): "), "{shown}");
    }

    #[test]
    fn error_names() {
        let e = Error::from_code(code::ENOSESSION);
        assert_eq!(e.name, "CHIO_ENOSESSION");
        assert_eq!(e.message, "unknown session");
        assert_eq!(e.reporting_name(), "unknown_session");
        assert_eq!(Error::from_code(-9999).name, "CHIO_EUNKNOWN");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        assert!(boxed.to_string().contains("-72"));
    }

    #[test]
    fn config_errors_are_reported() {
        // No store chosen: the C side names the field.
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        let e = KernelBuilder::new(kp, "sha256:policy").build().unwrap_err();
        assert_eq!(e.code, code::ECONFIG);
        assert!(e.message.contains("receipt_store_path"), "{}", e.message);
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        let e = KernelBuilder::new(kp, "p")
            .ephemeral_store()
            .ring_capacity(3)
            .build()
            .unwrap_err();
        assert!(e.message.contains("ring_capacity"), "{}", e.message);
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        let e = KernelBuilder::new(kp, "p\0x")
            .ephemeral_store()
            .build()
            .unwrap_err();
        assert_eq!(e.code, code::EINVAL);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc\0def", 10), "abc");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn receipt_parse_rejects_garbage() {
        let e = Receipt::parse("{").unwrap_err();
        assert_eq!(e.code, code::EJSON_TRUNCATED);
        assert!(Capability::parse("[]").is_err());
    }

    #[test]
    fn version_is_set() {
        assert_eq!(version(), "0.2.0");
    }
}
