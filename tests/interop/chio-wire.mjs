// chio-wire.mjs: an independent implementation of chio's wire formats,
// written from /work/shared/spec/wire-format.md and the upstream vectors
// only (not from libchio's sources), so that interop.test.mjs can hold
// libchio to a second reading of the spec. node:crypto only.
//
//   canon.mjs       canonical JSON, SHA-256, Ed25519 keys     (spec 1, 2)
//   receipt.mjs     chio.receipt.v1: normalize, sign, verify  (spec 3)
//   capability.mjs  chio.capability.v1 tokens and delegation (spec 4)
//   checkpoint.mjs  Merkle proofs and signed checkpoints      (spec 5)
//
// Each decision the spec leaves open is marked SPEC-SILENT where it is made.

export * from './canon.mjs';
export * from './receipt.mjs';
export * from './capability.mjs';
export * from './checkpoint.mjs';
