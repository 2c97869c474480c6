// checkpoint.mjs: Merkle trees, inclusion proofs and signed checkpoints
// (wire-format.md 5) for the independent implementation.

import crypto from 'node:crypto';
import {
  WireError, parse, fromJs, canonicalBytes, sha256Hex, keypair, normPubkey, sign, verifySig,
} from './canon.mjs';

export const CHECKPOINT_SCHEMA = 'chio.checkpoint_statement.v1';

const h = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
export const leafHash = (leaf) => h(Buffer.from([0]), leaf);
export const nodeHash = (l, r) => h(Buffer.from([1]), l, r);
const hex0x = (b) => '0x' + b.toString('hex');

function from0x(s) {
  if (typeof s !== 'string' || !/^0x[0-9a-f]{64}$/.test(s)) throw new WireError('schema', `not a 0x hash: ${s}`);
  return Buffer.from(s.slice(2), 'hex');
}

// All levels of the tree over leaf byte strings (level 0 = leaf hashes); an
// odd node at the end of a level is carried up unchanged.
function levels(leaves) {
  const out = [leaves.map(leafHash)];
  while (out[out.length - 1].length > 1) {
    const cur = out[out.length - 1];
    const next = [];
    for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? nodeHash(cur[i], cur[i + 1]) : cur[i]);
    out.push(next);
  }
  return out;
}

// SPEC-SILENT: the root of an empty tree. Checkpoints cover at least one
// receipt, so an empty tree has no root here.
export function merkleRoot(leaves) {
  if (leaves.length === 0) throw new WireError('merkle', 'empty tree');
  const lv = levels(leaves);
  return hex0x(lv[lv.length - 1][0]);
}

export function auditPath(leaves, index) {
  const path = [];
  let i = index;
  for (const level of levels(leaves).slice(0, -1)) {
    const sib = i ^ 1;
    if (sib < level.length) path.push(hex0x(level[sib]));
    i >>= 1;
  }
  return path;
}

// Does `leaf` (bytes) sit at proof.leaf_index of a tree of proof.tree_size
// leaves with root `root` ("0x" hex)? Walks the levels as the tree is built.
export function verifyInclusion(leaf, proof, root) {
  try {
    let size = Number(proof.tree_size);
    let i = Number(proof.leaf_index);
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(i) || size < 1 || i < 0 || i >= size) return false;
    const path = proof.audit_path.map(from0x);
    let acc = leafHash(leaf);
    let used = 0;
    while (size > 1) {
      const sib = i ^ 1;
      if (sib < size) {
        if (used >= path.length) return false;
        acc = i & 1 ? nodeHash(path[used++], acc) : nodeHash(acc, path[used++]);
      }
      i >>= 1;
      size = (size + 1) >> 1;
    }
    return used === path.length && acc.equals(from0x(root));
  } catch {
    return false;
  }
}

const BODY_FIELDS = ['schema', 'checkpoint_seq', 'batch_start_seq', 'batch_end_seq', 'tree_size',
  'merkle_root', 'issued_at', 'kernel_key', 'previous_checkpoint_sha256'];

function asParsed(x) {
  if (typeof x === 'string' || Buffer.isBuffer(x)) return parse(x);
  if (x && x.t === 'obj') return x;
  return fromJs(x);
}

// Checks a checkpoint's body fields; returns the parsed body.
function checkBody(body) {
  if (body.t !== 'obj') throw new WireError('schema', 'checkpoint body must be an object');
  const m = body.v;
  for (const k of m.keys()) if (!BODY_FIELDS.includes(k)) throw new WireError('schema', `checkpoint body has unknown field ${k}`);
  for (const k of BODY_FIELDS.slice(0, -1)) if (!m.has(k)) throw new WireError('schema', `checkpoint body lacks ${k}`);
  if (m.get('schema').v !== CHECKPOINT_SCHEMA) throw new WireError('schema', 'checkpoint schema');
  for (const k of ['checkpoint_seq', 'batch_start_seq', 'batch_end_seq', 'tree_size', 'issued_at']) {
    const v = m.get(k);
    if (v.t !== 'num' || v.kind === 'double' || v.big < 0n) throw new WireError('schema', `checkpoint ${k} must be an integer`);
  }
  if (!normPubkey(m.get('kernel_key').v)) throw new WireError('schema', 'checkpoint kernel_key');
  return body;
}

// sha256_hex of a checkpoint's canonical body (what the next one chains to).
export function checkpointBodyHash(cp) {
  const p = asParsed(cp);
  return sha256Hex(canonicalBytes(p.v.get('body')));
}

export function signCheckpoint(body, seedHex) {
  const kp = keypair(seedHex);
  const b = asParsed({ schema: CHECKPOINT_SCHEMA, ...body, kernel_key: kp.publicHex });
  checkBody(b);
  return { body: { schema: CHECKPOINT_SCHEMA, ...body, kernel_key: kp.publicHex }, signature: sign(kp, canonicalBytes(b)) };
}

// Verify one checkpoint: body fields, signature by body.kernel_key, and when
// `previous` is given, previous_checkpoint_sha256 and checkpoint_seq chaining.
// Returns null when valid, else a reason.
export function checkpointError(cp, previous) {
  let p;
  try {
    p = asParsed(cp);
    if (p.t !== 'obj' || !p.v.has('body') || !p.v.has('signature')) return 'not {body, signature}';
    checkBody(p.v.get('body'));
  } catch (e) {
    if (e instanceof WireError) return e.message;
    throw e;
  }
  const b = p.v.get('body').v;
  if (!verifySig(b.get('kernel_key').v, canonicalBytes(p.v.get('body')), p.v.get('signature').v)) return 'signature';
  if (b.get('batch_end_seq').big < b.get('batch_start_seq').big) return 'batch_end_seq < batch_start_seq';
  // SPEC-SILENT: a checkpoint's tree covers exactly its batch of receipts.
  if (b.get('tree_size').big !== b.get('batch_end_seq').big - b.get('batch_start_seq').big + 1n) return 'tree_size does not match the batch';
  if (previous === undefined) return null;
  const prevHash = previous === null ? undefined : checkpointBodyHash(previous);
  const got = b.has('previous_checkpoint_sha256') ? b.get('previous_checkpoint_sha256').v : undefined;
  if (got !== prevHash) return 'previous_checkpoint_sha256 does not chain';
  const wantSeq = previous === null ? 1n : asParsed(previous).v.get('body').v.get('checkpoint_seq').big + 1n;
  if (b.get('checkpoint_seq').big !== wantSeq) return 'checkpoint_seq does not follow';
  return null;
}
