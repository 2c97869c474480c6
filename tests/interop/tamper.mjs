// tamper.mjs: field-level tamperings of signed receipts and capability
// tokens for interop.test.mjs. Some must fail (a changed signed field),
// some must still verify (a null optional field, an empty evidence list,
// an uppercase key): both implementations have to agree on which is which.

import * as w from './chio-wire.mjs';
import { randomString } from './gen.mjs';

const S = (v) => ({ t: 'str', v });
const flipHex = (s, i) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);

function withField(rec, k, v) {
  const m = new Map(rec.v);
  if (v === undefined) m.delete(k); else m.set(k, v);
  return { t: 'obj', v: m };
}

// Receipt (parsed, signed) -> tampered lines (Buffers, no newline).
export function receiptTamperings(r, rec) {
  const g = (k) => rec.v.get(k);
  const out = [
    withField(rec, 'signature', S(flipHex(g('signature').v, r.int(128)))),
    withField(rec, 'id', S(flipHex(g('id').v, r.int(64)))),
    withField(rec, 'kernel_key', S(flipHex(g('kernel_key').v, r.int(64)))),
    withField(rec, 'kernel_key', S(g('kernel_key').v.toUpperCase())),
    withField(rec, 'kernel_key', S('0x' + g('kernel_key').v)),
    withField(rec, 'signature', S(g('signature').v.toUpperCase())),
    withField(rec, 'timestamp', w.classifyNumber(String(g('timestamp').big + 1n))),
    withField(rec, 'timestamp', w.classifyNumber(`${g('timestamp').big}.0`)),
    withField(rec, 'policy_hash', S(g('policy_hash').v + randomString(r, 2) + 'x')),
    withField(rec, 'tenant_id', g('tenant_id') ? undefined : S('tenant-x')),
    withField(rec, 'tenant_id', { t: 'null' }),
    withField(rec, 'metadata', { t: 'null' }),
    withField(rec, 'evidence', g('evidence') ? undefined : { t: 'arr', v: [] }),
    withField(rec, 'actor_chain', g('actor_chain') ? { t: 'null' } : { t: 'arr', v: [] }),
    withField(rec, 'tool_origin', g('tool_origin').v === 'caller_executed' ? undefined : S('caller_executed')),
    withField(rec, 'unknown_field', S('x')),
    withField(rec, 'redaction_mode', S(g('redaction_mode').v === 'none' ? 'redacted' : 'none')),
    withField(rec, 'receipt_kind', S('no_such_kind')),
    withField(rec, 'decision', g('decision') ? { t: 'obj', v: new Map([['verdict', S('allow')]]) } : undefined),
    withField(rec, 'action', { t: 'obj', v: new Map([...g('action').v, ['parameter_hash', S(flipHex(g('action').v.get('parameter_hash').v, 0))]]) }),
  ];
  if (g('evidence')) {
    const ev = g('evidence').v.map((e, i) => (i ? e : { t: 'obj', v: new Map([...e.v, ['verdict', { t: 'bool', v: !e.v.get('verdict').v }]]) }));
    out.push(withField(rec, 'evidence', { t: 'arr', v: ev }));
  }
  const lines = out.map(w.canonicalBytes);
  const text = w.canonicalBytes(rec).toString();
  lines.push(Buffer.from(text.replace('{', '{"id":"x",'))); // a duplicate key
  lines.push(Buffer.from(text.replace('"timestamp":', '"timestamp" : ').replace(/,/g, ', '))); // white space only
  return lines;
}

// Token (plain JS, signed) -> tampered lines (Buffers).
export function tokenTamperings(r, tok) {
  const chain = tok.delegation_chain || [];
  const out = [
    { ...tok, signature: flipHex(tok.signature, r.int(128)) },
    { ...tok, id: tok.id + 'x' },
    { ...tok, issuer: tok.issuer.toUpperCase() },
    { ...tok, subject: '0x' + tok.subject },
    { ...tok, expires_at: tok.expires_at + 1 },
    { ...tok, schema: 'chio.capability.v1' },
    { ...tok, unknown_field: 1 },
    { ...tok, delegation_chain: chain.length ? null : [] },
    { ...tok, scope: { ...tok.scope, resource_grants: tok.scope.resource_grants ? tok.scope.resource_grants : [] } },
    { ...tok, scope: { ...tok.scope, grants: [...(tok.scope.grants || []), { server_id: 'x', tool_name: 'y', operations: ['invoke'] }] } },
  ];
  if (chain.length) {
    const i = r.int(chain.length);
    out.push({ ...tok, delegation_chain: chain.map((l, j) => (j === i ? { ...l, timestamp: l.timestamp + 1 } : l)) });
    out.push({ ...tok, delegation_chain: chain.map((l, j) => (j === i ? { ...l, delegatee: l.delegatee.toUpperCase() } : l)) });
    out.push({ ...tok, delegation_chain: chain.map((l, j) => (j === i ? { ...l, extra: true } : l)) });
  }
  const lines = out.map((x) => w.canonicalJs(x));
  lines.push(Buffer.from(w.canonicalJs(tok).toString().replace('{', '{"id":"dup",')));
  return lines;
}
