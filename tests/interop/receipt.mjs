// receipt.mjs: chio.receipt.v1 (wire-format.md 3) for the independent
// implementation: field checks and normalization, the id input, the signed
// message, signing and the verification report.
//
// Receipts are handled as parsed values (canon.mjs) so that number tokens
// keep their kind: a timestamp written 1.0 is a double, not an integer.

import {
  WireError, parse, fromJs, toJs, canonicalBytes, sha256Hex, keypair, normPubkey, sign, verifySig,
} from './canon.mjs';

const KINDS = ['mediated_decision', 'trace_observation', 'advisory_evaluation'];
const BOUNDARIES = ['prevent', 'detect_only', 'advisory_only', 'cannot_see'];
const OUTCOMES = ['observed', 'evaluated', 'dropped'];
const ORIGINS = ['caller_executed', 'host_executed_provider_reported', 'host_executed_unmediated'];
const REDACTIONS = ['none', 'summary', 'redacted'];
const TRUST = ['mediated', 'verified', 'advisory'];
const VERDICTS = ['allow', 'deny', 'cancelled', 'incomplete'];

const schemaErr = (msg) => new WireError('schema', msg);

function str(v, what) {
  if (!v || v.t !== 'str') throw schemaErr(`${what} must be a string`);
  return v;
}

function oneOf(v, list, what) {
  str(v, what);
  if (!list.includes(v.v)) throw schemaErr(`${what} ${JSON.stringify(v.v)} is not one of ${list.join(', ')}`);
  return v;
}

// Unix seconds: an exact non-negative integer token.
function seconds(v, what) {
  if (!v || v.t !== 'num' || v.kind === 'double' || v.big < 0n) throw schemaErr(`${what} must be a non-negative integer`);
  return v;
}

// An optional field: absent or null means absent (spec 1).
function present(m, k) {
  return m.has(k) && m.get(k).t !== 'null';
}

// Rebuild an object with only the listed fields. spec maps field -> [required,
// check(value) -> normalized value or undefined to omit, nullable (null is a
// value, not absence)]. Unknown fields are rejected.
// SPEC-SILENT: unknown fields. Dropping them would let anyone add fields to a
// signed receipt without breaking its signature; keeping them in the id input
// only makes the id mismatch. Rejected outright (fail closed).
export function pick(obj, spec, what) {
  if (!obj || obj.t !== 'obj') throw schemaErr(`${what} must be an object`);
  for (const k of obj.v.keys()) if (!(k in spec)) throw schemaErr(`${what} has unknown field ${k}`);
  const out = new Map();
  for (const [k, [required, check, nullable]] of Object.entries(spec)) {
    if (!(nullable ? obj.v.has(k) : present(obj.v, k))) {
      if (required) throw schemaErr(`${what} lacks ${k}`);
      continue;
    }
    const v = check(obj.v.get(k), `${what}.${k}`);
    if (v !== undefined) out.set(k, v);
  }
  return { t: 'obj', v: out };
}

// Optional array that is omitted when empty (evidence, actor_chain, delegation_chain).
export function listOmitEmpty(item) {
  return (v, what) => {
    if (v.t !== 'arr') throw schemaErr(`${what} must be an array`);
    if (v.v.length === 0) return undefined;
    return { t: 'arr', v: v.v.map((x, i) => item(x, `${what}[${i}]`)) };
  };
}

function decision(v, what) {
  if (!v || v.t !== 'obj' || !v.v.has('verdict')) throw schemaErr(`${what} must be an object with a verdict`);
  const verdict = oneOf(v.v.get('verdict'), VERDICTS, `${what}.verdict`).v;
  const spec = { verdict: [true, (x) => x] };
  if (verdict === 'deny') {
    spec.reason = [true, str];
    spec.guard = [true, str];
  } else if (verdict !== 'allow') {
    spec.reason = [true, str];
  }
  return pick(v, spec, what);
}

const actor = (v, what) => pick(v, { actor_id: [true, str], actor_kind: [false, str] }, what);

function evidence(v, what) {
  return pick(v, {
    guard_name: [true, str],
    verdict: [true, (x, w) => { if (x.t !== 'bool') throw schemaErr(`${w} must be a boolean`); return x; }],
    details: [false, str],
  }, what);
}

function action(v, what) {
  return pick(v, { parameters: [true, (x) => x, true], parameter_hash: [true, str] }, what);
}

function pubkey(v, what) {
  str(v, what);
  const k = normPubkey(v.v);
  if (!k) throw schemaErr(`${what} must be 64 hex digits`);
  return { t: 'str', v: k };
}

const RECEIPT_FIELDS = {
  id: [true, str],
  timestamp: [true, seconds],
  capability_id: [true, str],
  tool_server: [true, str],
  tool_name: [true, str],
  action: [true, action],
  decision: [false, decision],
  receipt_kind: [true, (v, w) => oneOf(v, KINDS, w)],
  boundary_class: [true, (v, w) => oneOf(v, BOUNDARIES, w)],
  observation_outcome: [false, (v, w) => oneOf(v, OUTCOMES, w)],
  tool_origin: [false, (v, w) => oneOf(v, ORIGINS, w)],
  redaction_mode: [true, (v, w) => oneOf(v, REDACTIONS, w)],
  actor_chain: [false, listOmitEmpty(actor)],
  content_hash: [true, str],
  policy_hash: [true, str],
  evidence: [false, listOmitEmpty(evidence)],
  metadata: [false, (v, w) => { if (v.t !== 'obj') throw schemaErr(`${w} must be an object`); return v; }],
  trust_level: [true, (v, w) => oneOf(v, TRUST, w)],
  tenant_id: [false, str],
  kernel_key: [true, pubkey],
  // 128 hex digits, or the receipt is unreadable (either case, see verifySig).
  signature: [true, (v, w) => { if (str(v, w) && !/^[0-9a-fA-F]{128}$/.test(v.v)) throw schemaErr(`${w} must be 128 hex digits`); return v; }],
};

// Parsed receipt -> normalized parsed receipt (throws WireError 'schema').
// SPEC-SILENT beyond "tool_origin: caller_executed (default)": a body being
// signed gets the default (@forSigning); a signed receipt must carry the
// member, as chio's own receipt type requires it (an absent one is refused,
// not guessed).
export function normalizeReceipt(r, forSigning = false) {
  const n = pick(r, RECEIPT_FIELDS, 'receipt');
  if (!n.v.has('tool_origin')) {
    if (!forSigning) throw schemaErr('receipt.tool_origin is missing');
    n.v.set('tool_origin', { t: 'str', v: 'caller_executed' });
  }
  return n;
}

// The semantic rules; returns null when they hold, else a reason.
export function semanticError(n) {
  const g = (k) => (n.v.has(k) ? n.v.get(k).v : undefined);
  const kind = g('receipt_kind');
  const want = {
    mediated_decision: ['prevent', false, true, 'mediated'],
    trace_observation: ['detect_only', true, false, 'verified'],
    advisory_evaluation: ['advisory_only', true, false, 'advisory'],
  }[kind];
  if (g('boundary_class') !== want[0]) return `${kind} needs boundary_class ${want[0]}`;
  if (n.v.has('observation_outcome') !== want[1]) return `${kind} ${want[1] ? 'needs' : 'must not have'} an observation_outcome`;
  if (n.v.has('decision') !== want[2]) return `${kind} ${want[2] ? 'needs' : 'must not have'} a decision`;
  if (g('trust_level') !== want[3]) return `${kind} needs trust_level ${want[3]}`;
  return null;
}

export function idInput(n) {
  const m = new Map(n.v);
  m.delete('id');
  m.delete('signature');
  return { t: 'obj', v: m };
}

export function signedMessage(idIn, id) {
  return canonicalBytes({ t: 'obj', v: new Map([['body', idIn], ['id', { t: 'str', v: id }]]) });
}

function asParsed(r) {
  if (typeof r === 'string' || Buffer.isBuffer(r)) return parse(r);
  if (r && r.t === 'obj') return r;
  return fromJs(r);
}

// Sign a receipt body (JS object or parsed value without id/signature; its
// kernel_key is overwritten with the seed's key). Returns the full receipt as
// a parsed value. Throws when the body breaks the semantic rules.
export function signReceipt(body, seedHex) {
  const kp = keypair(seedHex);
  const b = asParsed(body);
  const m = new Map(b.v);
  m.set('kernel_key', { t: 'str', v: kp.publicHex });
  m.set('id', { t: 'str', v: '' });
  m.set('signature', { t: 'str', v: '0'.repeat(128) });
  const n = normalizeReceipt({ t: 'obj', v: m }, true);
  const bad = semanticError(n);
  if (bad) throw new WireError('semantic', bad);
  const idIn = idInput(n);
  const id = sha256Hex(canonicalBytes(idIn));
  const out = new Map(idIn.v);
  out.set('id', { t: 'str', v: id });
  out.set('signature', { t: 'str', v: sign(kp, signedMessage(idIn, id)) });
  return { t: 'obj', v: out };
}

function resultWord(kind, verdict, outcome) {
  // SPEC-SILENT: the report's "result" words. The vectors show Authorized,
  // Denied and Observed; the others follow the same pattern.
  if (kind === 'mediated_decision') {
    return { allow: 'Authorized', deny: 'Denied', cancelled: 'Cancelled', incomplete: 'Incomplete' }[verdict];
  }
  return { observed: 'Observed', evaluated: 'Evaluated', dropped: 'Dropped' }[outcome];
}

// Verify a receipt (JSON text, bytes, JS object or parsed value) against a
// list of trusted signer keys. Returns {error} when it cannot be read as a
// receipt at all, else the report (field names as in the upstream vectors).
export function verifyReceipt(r, trusted = []) {
  let n;
  try {
    n = normalizeReceipt(asParsed(r));
  } catch (e) {
    if (e instanceof WireError) return { error: e.code, message: e.message };
    throw e;
  }
  const g = (k) => (n.v.has(k) ? n.v.get(k).v : undefined);
  const semantic = semanticError(n);
  const idIn = idInput(n);
  const id = sha256Hex(canonicalBytes(idIn));
  const idValid = g('id') === id;
  const rawSig = verifySig(g('kernel_key'), signedMessage(idIn, g('id')), g('signature'));
  const action = n.v.get('action').v;
  const phValid = sha256Hex(canonicalBytes(action.get('parameters'))) === action.get('parameter_hash').v;
  const key = g('kernel_key');
  const signerTrusted = trusted.map(normPubkey).includes(key);
  const verdict = n.v.has('decision') ? n.v.get('decision').v.get('verdict').v : 'none';
  const sigValid = semantic === null && idValid && rawSig;
  const ok = sigValid && phValid && signerTrusted;
  return {
    receipt_id: g('id'),
    computed_id: id,
    semantic_error: semantic,
    receipt_id_valid: idValid,
    raw_signature_valid: rawSig,
    signature_valid: sigValid,
    parameter_hash_valid: phValid,
    signer_key_hex: key,
    signer_trusted: signerTrusted,
    receipt_kind: g('receipt_kind'),
    boundary_class: g('boundary_class'),
    trust_level: g('trust_level'),
    decision: verdict,
    result: resultWord(g('receipt_kind'), verdict, g('observation_outcome')),
    ok,
    authorized: ok && g('receipt_kind') === 'mediated_decision' && verdict === 'allow',
  };
}

export { toJs };
