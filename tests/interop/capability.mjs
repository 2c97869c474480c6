// capability.mjs: chio.capability.v1 tokens (wire-format.md 4) for the
// independent implementation: field checks, the signed message, the
// delegation chain and the time window.

import {
  WireError, parse, fromJs, canonicalBytes, keypair, normPubkey, sign, verifySig,
} from './canon.mjs';
import { pick, listOmitEmpty } from './receipt.mjs';

export const SCHEMA = 'chio.capability.v1';
const OPERATIONS = ['invoke', 'read_result', 'read', 'subscribe', 'get', 'delegate'];
const schemaErr = (msg) => new WireError('schema', msg);

function str(v, what) {
  if (v.t !== 'str') throw schemaErr(`${what} must be a string`);
  return v;
}

function uint(v, what) {
  if (v.t !== 'num' || v.kind === 'double' || v.big < 0n) throw schemaErr(`${what} must be a non-negative integer`);
  return v;
}

function bool(v, what) {
  if (v.t !== 'bool') throw schemaErr(`${what} must be a boolean`);
  return v;
}

function pubkey(v, what) {
  str(v, what);
  const k = normPubkey(v.v);
  if (!k) throw schemaErr(`${what} must be 64 hex digits`);
  return { t: 'str', v: k };
}

// 128 hex digits (either case), or the token is unreadable.
function sigHex(v, what) {
  if (v.t !== 'str' || !/^[0-9a-fA-F]{128}$/.test(v.v)) throw schemaErr(`${what} must be 128 hex digits`);
  return v;
}

function arrayOf(item) {
  return (v, what) => {
    if (v.t !== 'arr') throw schemaErr(`${what} must be an array`);
    return { t: 'arr', v: v.v.map((x, i) => item(x, `${what}[${i}]`)) };
  };
}

function operation(v, what) {
  str(v, what);
  if (!OPERATIONS.includes(v.v)) throw schemaErr(`${what} ${JSON.stringify(v.v)} is not an operation`);
  return v;
}

// Constraint values are kept as given (custom's is a 2-array); the kernel,
// not the wire format, decides what an unknown type means (deny).
const constraint = (v, what) => pick(v, { type: [true, str], value: [true, (x) => x] }, what);
const money = (v, what) => pick(v, { units: [true, uint], currency: [true, str] }, what);

const toolGrant = (v, what) => pick(v, {
  server_id: [true, str],
  tool_name: [true, str],
  operations: [true, arrayOf(operation)],
  constraints: [false, arrayOf(constraint)],
  max_invocations: [false, uint],
  max_cost_per_invocation: [false, money],
  max_total_cost: [false, money],
  dpop_required: [false, bool],
}, what);
const resourceGrant = (v, what) => pick(v, { uri_pattern: [true, str], operations: [true, arrayOf(operation)] }, what);
const promptGrant = (v, what) => pick(v, { prompt_name: [true, str], operations: [true, arrayOf(operation)] }, what);

// The scope is signed as written: the spec omits only an empty
// delegation_chain from tokens, so an empty grants / resource_grants /
// prompt_grants / constraints list that a token carries is part of the
// signed message (the upstream tokens simply leave the empty ones out).
const scope = (v, what) => pick(v, {
  grants: [false, arrayOf(toolGrant)],
  resource_grants: [false, arrayOf(resourceGrant)],
  prompt_grants: [false, arrayOf(promptGrant)],
}, what);

const LINK_FIELDS = {
  capability_id: [true, str],
  delegator: [true, pubkey],
  delegatee: [true, pubkey],
  // SPEC-SILENT: attenuations' form; a list (of chio's attenuation objects,
  // kept as written: they are audit records, not checked here).
  attenuations: [false, arrayOf((x) => x)],
  timestamp: [true, uint],
  scope_hash: [false, str],
  signature: [true, sigHex],
};
const link = (v, what) => pick(v, LINK_FIELDS, what);

const TOKEN_FIELDS = {
  id: [true, str],
  issuer: [true, pubkey],
  subject: [true, pubkey],
  scope: [true, scope],
  issued_at: [true, uint],
  expires_at: [true, uint],
  delegation_chain: [false, listOmitEmpty(link)],
  signature: [true, sigHex],
  // SPEC-SILENT: a token that already carries the schema tag. The signed
  // message adds "schema":"chio.capability.v1" anyway, so the same tag is
  // read as part of that message; any other value is refused.
  schema: [false, (v, what) => {
    if (v.t !== 'str' || v.v !== SCHEMA) throw schemaErr(`${what} is not ${SCHEMA}`);
    return undefined;
  }],
};

export function normalizeToken(t) {
  return pick(t, TOKEN_FIELDS, 'capability');
}

function withoutSignature(n) {
  const m = new Map(n.v);
  m.delete('signature');
  return m;
}

// The bytes the issuer signs: the token without signature, plus the schema.
export function tokenMessage(n) {
  const m = withoutSignature(n);
  m.set('schema', { t: 'str', v: SCHEMA });
  return canonicalBytes({ t: 'obj', v: m });
}

// The bytes a delegator signs: the link without its signature.
export function linkMessage(l) {
  return canonicalBytes({ t: 'obj', v: withoutSignature(l) });
}

function asParsed(x) {
  if (typeof x === 'string' || Buffer.isBuffer(x)) return parse(x);
  if (x && x.t === 'obj') return x;
  return fromJs(x);
}

// Sign a delegation link (JS object without signature) with the delegator's
// seed; the delegator field is set to that seed's key.
export function signLink(l, seedHex) {
  const kp = keypair(seedHex);
  const n = link(asParsed({ ...l, delegator: kp.publicHex, signature: '0'.repeat(128) }), 'link');
  const m = withoutSignature(n);
  return { ...l, delegator: kp.publicHex, signature: sign(kp, canonicalBytes({ t: 'obj', v: m })) };
}

// Sign a token (JS object without signature) as issuer with seedHex.
export function signToken(t, seedHex) {
  const kp = keypair(seedHex);
  const n = normalizeToken(asParsed({ ...t, issuer: kp.publicHex, signature: '0'.repeat(128) }));
  return { ...t, issuer: kp.publicHex, signature: sign(kp, tokenMessage(n)) };
}

// Chain: at most maxDepth links, every link signature verifies, each
// delegator is the previous delegatee, timestamps never decrease.
// SPEC-SILENT: whether the first delegator must be the issuer and the last
// delegatee the subject. The upstream one-link token has delegator = issuer
// but delegatee != subject, so neither end is tied here.
// SPEC-SILENT: which report field a bad link signature fails. The chain is
// invalid (spec 4: "every link signature verifies"), and the token's
// signatures are not all valid either, so both signature_valid and
// delegation_chain_shape_valid are false.
export function linkSignatureError(n) {
  const chain = n.v.has('delegation_chain') ? n.v.get('delegation_chain').v : [];
  for (let i = 0; i < chain.length; i++) {
    const l = chain[i].v;
    if (!verifySig(l.get('delegator').v, linkMessage(chain[i]), l.get('signature').v)) return `link ${i} signature`;
  }
  return null;
}

export function chainError(n, maxDepth = Infinity) {
  const chain = n.v.has('delegation_chain') ? n.v.get('delegation_chain').v : [];
  if (chain.length > maxDepth) return `delegation chain longer than ${maxDepth}`;
  const links = linkSignatureError(n);
  if (links) return links;
  for (let i = 1; i < chain.length; i++) {
    const l = chain[i].v;
    const prev = chain[i - 1].v;
    if (l.get('delegator').v !== prev.get('delegatee').v) return `link ${i} delegator is not link ${i - 1}'s delegatee`;
    if (l.get('timestamp').big < prev.get('timestamp').big) return `link ${i} timestamp goes back`;
  }
  return null;
}

export function timeStatus(n, now) {
  const t = BigInt(now);
  if (t < n.v.get('issued_at').big) return 'not_yet_valid';
  if (t >= n.v.get('expires_at').big) return 'expired';
  return 'valid';
}

// Verify a token at clock `now` (Unix seconds). Returns {error} when it
// cannot be read as a token, else the report (names as in the vectors).
export function verifyToken(t, now, { trustedIssuers = [], maxDepth = Infinity } = {}) {
  let n;
  try {
    n = normalizeToken(asParsed(t));
  } catch (e) {
    if (e instanceof WireError) return { error: e.code, message: e.message };
    throw e;
  }
  const issuer = n.v.get('issuer').v;
  const chain = chainError(n, maxDepth);
  // SPEC-SILENT: a chain longer than maxDepth is refused before its link
  // signatures are checked (bounded work for a padded token), so they do
  // not count against signature_valid then.
  const depthOk = !n.v.has('delegation_chain') || n.v.get('delegation_chain').v.length <= maxDepth;
  const links = depthOk ? linkSignatureError(n) : null;
  const sig = verifySig(issuer, tokenMessage(n), n.v.get('signature').v) && links === null;
  const time = timeStatus(n, now);
  const trusted = trustedIssuers.map(normPubkey).includes(issuer);
  return {
    signature_valid: sig,
    delegation_chain_shape_valid: chain === null,
    chain_error: chain,
    time_status: time,
    issuer_trusted: trusted,
    ok: sig && chain === null && time === 'valid' && trusted,
  };
}
