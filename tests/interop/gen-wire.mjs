// gen-wire.mjs: seeded generators of receipt bodies, capability tokens and
// their tamperings for interop.test.mjs (see gen.mjs for the JSON texts).

import * as w from './chio-wire.mjs';
import { randomJsonText, randomString } from './gen.mjs';

export const SEEDS = ['07', '0b', '0c', '0d', '2a', 'fe'].map((b) => b.repeat(32));
export const pubOf = (seed) => w.keypair(seed).publicHex;

const S = (v) => ({ t: 'str', v });
const hex64 = (r) => Array.from({ length: 64 }, () => '0123456789abcdef'[r.int(16)]).join('');

// A random JSON value parsed from random text; objects only when asked.
function randomValue(r, wantObject) {
  for (;;) {
    let v;
    try {
      v = w.parse(randomJsonText(r));
    } catch {
      continue; // a number no double holds
    }
    if (!wantObject || v.t === 'obj') return v;
  }
}

// Optional member: absent, null, or the value (as a parsed value).
function maybe(r, m, k, make, pAbsent = 0.4, pNull = 0.1) {
  const x = r.next();
  if (x < pAbsent) return;
  if (x < pAbsent + pNull) m.set(k, { t: 'null' });
  else m.set(k, make());
}

function list(r, n, make) {
  return { t: 'arr', v: Array.from({ length: n }, make) };
}

// A random receipt body (parsed value, no id / signature / kernel_key) that
// keeps the semantic rules, unless `breakRules`.
export function randomReceiptBody(r, { breakRules = false } = {}) {
  const m = new Map();
  m.set('timestamp', w.classifyNumber(r.pick(['0', '1710000200', '9007199254740993', String(r.int(2 ** 31)), '18446744073709551615'])));
  m.set('capability_id', S(r.chance(0.7) ? `cap-${r.int(1000)}` : randomString(r)));
  m.set('tool_server', S(r.chance(0.7) ? 'srv-files' : randomString(r)));
  m.set('tool_name', S(r.chance(0.7) ? 'file_read' : randomString(r)));
  const params = randomValue(r, false);
  const ph = w.sha256Hex(w.canonicalBytes(params));
  m.set('action', { t: 'obj', v: new Map([['parameters', params], ['parameter_hash', S(r.chance(0.9) ? ph : hex64(r))]]) });
  const kind = r.pick(['mediated_decision', 'mediated_decision', 'trace_observation', 'advisory_evaluation']);
  m.set('receipt_kind', S(kind));
  if (kind === 'mediated_decision') {
    m.set('boundary_class', S('prevent'));
    m.set('trust_level', S('mediated'));
    const verdict = r.pick(['allow', 'deny', 'cancelled', 'incomplete']);
    const d = new Map([['verdict', S(verdict)]]);
    if (verdict !== 'allow') d.set('reason', S(randomString(r)));
    if (verdict === 'deny') d.set('guard', S(r.pick(['ForbiddenPathGuard', 'constraint', randomString(r)])));
    m.set('decision', { t: 'obj', v: d });
    if (r.chance(0.1)) m.set('observation_outcome', { t: 'null' });
  } else {
    m.set('boundary_class', S(kind === 'trace_observation' ? 'detect_only' : 'advisory_only'));
    m.set('trust_level', S(kind === 'trace_observation' ? 'verified' : 'advisory'));
    m.set('observation_outcome', S(r.pick(['observed', 'evaluated', 'dropped'])));
    if (r.chance(0.1)) m.set('decision', { t: 'null' });
  }
  maybe(r, m, 'tool_origin', () => S(r.pick(['caller_executed', 'host_executed_provider_reported', 'host_executed_unmediated'])));
  m.set('redaction_mode', S(r.pick(['none', 'summary', 'redacted'])));
  maybe(r, m, 'actor_chain', () => list(r, r.int(4), () => {
    const a = new Map([['actor_id', S(randomString(r) || 'agent')]]);
    maybe(r, a, 'actor_kind', () => S(r.pick(['agent', 'human', 'service', randomString(r)])));
    return { t: 'obj', v: a };
  }));
  m.set('content_hash', S(r.chance(0.5) ? w.sha256Hex(Buffer.from('null')) : hex64(r)));
  m.set('policy_hash', S(r.chance(0.5) ? 'policy-bindings-v1' : randomString(r)));
  maybe(r, m, 'evidence', () => list(r, r.int(4), () => {
    const e = new Map([['guard_name', S(randomString(r) || 'G')], ['verdict', { t: 'bool', v: r.chance(0.5) }]]);
    maybe(r, e, 'details', () => S(randomString(r)));
    return { t: 'obj', v: e };
  }));
  maybe(r, m, 'metadata', () => randomValue(r, true));
  maybe(r, m, 'tenant_id', () => S(randomString(r) || 'tenant-a'));
  if (breakRules) {
    const k = r.pick(['boundary_class', 'trust_level', 'observation_outcome', 'decision']);
    if (k === 'boundary_class') m.set(k, S(r.pick(['prevent', 'detect_only', 'advisory_only', 'cannot_see'].filter((x) => x !== m.get(k).v))));
    else if (k === 'trust_level') m.set(k, S(r.pick(['mediated', 'verified', 'advisory'].filter((x) => x !== m.get(k).v))));
    else if (k === 'observation_outcome') {
      if (kind === 'mediated_decision') m.set(k, S('observed')); else m.delete(k);
    } else if (kind === 'mediated_decision') m.delete(k);
    else m.set(k, { t: 'obj', v: new Map([['verdict', S('allow')]]) });
  }
  return { t: 'obj', v: m };
}

// Sign without the semantic check (to make receipts whose raw signature is
// valid but which must still fail): the same id and message as signReceipt.
export function signIgnoringRules(body, seed) {
  const kp = w.keypair(seed);
  const m = new Map(body.v);
  m.set('kernel_key', S(kp.publicHex));
  m.set('id', S(''));
  m.set('signature', S('0'.repeat(128)));
  const idIn = w.idInput(w.normalizeReceipt({ t: 'obj', v: m }, true));
  const id = w.sha256Hex(w.canonicalBytes(idIn));
  const out = new Map(idIn.v);
  out.set('id', S(id));
  out.set('signature', S(w.sign(kp, w.signedMessage(idIn, id))));
  return { t: 'obj', v: out };
}

// Random ToolGrant / ResourceGrant / PromptGrant (plain JS).
function randomGrant(r) {
  const g = {
    server_id: r.pick(['srv-files', '*', randomString(r)]),
    tool_name: r.pick(['file_read', '*', randomString(r)]),
    operations: [...new Set(Array.from({ length: 1 + r.int(3) }, () => r.pick(['invoke', 'read_result', 'read', 'subscribe', 'get', 'delegate'])))],
  };
  if (r.chance(0.6)) {
    g.constraints = Array.from({ length: r.int(3) }, () => r.pick([
      { type: 'path_prefix', value: '/workspace/' }, { type: 'domain_exact', value: 'api.example.com' },
      { type: 'domain_glob', value: '*.example.com' }, { type: 'regex_match', value: '^[a-z]+$' },
      { type: 'max_length', value: r.int(100) }, { type: 'max_args_size', value: r.int(4096) },
      { type: 'custom', value: ['k', randomString(r)] }, { type: 'unknown_kind', value: { x: 1 } },
    ]));
  }
  if (r.chance(0.3)) g.max_invocations = r.int(10);
  if (r.chance(0.1)) g.max_cost_per_invocation = { units: r.int(100), currency: 'USD' };
  if (r.chance(0.1)) g.max_total_cost = { units: r.int(1000), currency: 'EUR' };
  if (r.chance(0.2)) g.dpop_required = r.chance(0.5);
  return g;
}

export function randomScope(r) {
  const s = { grants: Array.from({ length: r.int(3) }, () => randomGrant(r)) };
  if (r.chance(0.5)) s.resource_grants = Array.from({ length: r.int(3) }, () => ({ uri_pattern: r.pick(['*', 'file:///docs/*', randomString(r)]), operations: ['read'] }));
  if (r.chance(0.5)) s.prompt_grants = Array.from({ length: r.int(3) }, () => ({ prompt_name: r.pick(['*', 'summary', randomString(r)]), operations: ['get'] }));
  return s;
}

// A random token signed by an issuer seed, with 0..3 delegation links whose
// shape is valid unless `breakChain`.
export function randomToken(r, { breakChain = false } = {}) {
  const issuer = r.pick(SEEDS);
  const issuedAt = 1710000000 + r.int(1000);
  const t = {
    id: r.chance(0.8) ? `cap-${r.int(1e6)}` : randomString(r),
    subject: pubOf(r.pick(SEEDS)),
    scope: randomScope(r),
    issued_at: issuedAt,
    expires_at: issuedAt + r.int(1000),
  };
  const n = r.int(4);
  if (n > 0 || r.chance(0.2)) {
    const chain = [];
    let from = issuer;
    let ts = issuedAt;
    for (let i = 0; i < n; i++) {
      const to = r.pick(SEEDS);
      ts += r.int(50);
      const l = { capability_id: `cap-parent-${i}`, delegatee: pubOf(to), timestamp: ts };
      if (r.chance(0.3)) l.scope_hash = w.sha256Hex(Buffer.from(String(i)));
      if (r.chance(0.2)) l.attenuations = [{ type: 'remove_tool', server_id: 'srv-files', tool_name: 'x' }];
      chain.push(w.signLink(l, from));
      from = to;
    }
    if (breakChain && chain.length > 0) {
      const i = r.int(chain.length);
      const how = r.int(3);
      if (how === 0) chain[i] = { ...chain[i], signature: chain[(i + 1) % chain.length].signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
      else if (how === 1 && i > 0) chain[i] = w.signLink({ ...chain[i], delegator: undefined, signature: undefined }, r.pick(SEEDS.filter((s) => pubOf(s) !== chain[i - 1].delegatee)));
      else if (i > 0) chain[i] = w.signLink({ ...chain[i], timestamp: chain[i - 1].timestamp - 1 - r.int(5), delegator: undefined, signature: undefined }, SEEDS.find((s) => pubOf(s) === chain[i].delegator));
      else chain[i] = { ...chain[i], timestamp: chain[i].timestamp + 1 };
    }
    t.delegation_chain = chain;
  }
  return w.signToken(t, issuer);
}
