//! Review 29: spec/kernel.md says the defaults of max_stream_duration_secs,
//! max_stream_total_bytes and checkpoint_batch_size are exported constants
//! under upstream chio-kernel's names; a Rust host ported from upstream
//! finds them at the crate root, with kernel.md's values.

#[test]
fn kernel_md_defaults_are_exported_under_upstream_names() {
    assert_eq!(chio::DEFAULT_MAX_STREAM_DURATION_SECS, 300);
    assert_eq!(chio::DEFAULT_MAX_STREAM_TOTAL_BYTES, 256 * 1024 * 1024);
    assert_eq!(chio::DEFAULT_CHECKPOINT_BATCH_SIZE, 100);
    assert_eq!(
        chio::DEFAULT_MAX_STREAM_DURATION_SECS,
        chio::sys::CHIO_DEFAULT_MAX_STREAM_DURATION_SECS
    );
}
