// scenario-gen.mjs: builds the chio.scenario.v1 file interop.test.mjs runs
// on a real kernel: capabilities signed here (by the kernel's own key, so
// trusted) and calls that reach an allow, a deny by each guard and each
// constraint, budgets, expiry, revocation, delegation, redaction, nested child receipts, incomplete streams, and arguments full
// of tricky numbers and strings (kept as raw JSON text).

import * as w from './chio-wire.mjs';
import { randomJsonText } from './gen.mjs';
import { pubOf } from './gen-wire.mjs';

export const KERNEL_SEED = '07'.repeat(32);
const AGENT_SEED = '0c'.repeat(32);
const CLOCK = 1710000300;

function token(id, grants, extra = {}, seed = KERNEL_SEED) {
  return w.signToken({
    id, subject: pubOf(AGENT_SEED), scope: { grants }, issued_at: 1710000000, expires_at: 1710001000, ...extra,
  }, seed);
}

const grant = (constraints, more = {}) => ({ server_id: 'srv-echo', tool_name: '*', operations: ['invoke'], ...(constraints ? { constraints } : {}), ...more });

// A delegated token: issued by the kernel key, with `links` links.
function delegated(id, links) {
  const seeds = ['0b', '0d', '2a', 'fe', '0b', '0d'].map((b) => b.repeat(32));
  const chain = [];
  let from = KERNEL_SEED;
  for (let i = 0; i < links; i++) {
    chain.push(w.signLink({ capability_id: `${id}-parent-${i}`, delegatee: pubOf(seeds[i]), timestamp: 1710000100 + i }, from));
    from = seeds[i];
  }
  return token(id, [grant()], { delegation_chain: chain });
}

// Returns the scenario text; `r` draws the random argument documents.
export function buildScenario(r, randomCalls = 24) {
  const caps = [
    token('cap-all', [{ server_id: '*', tool_name: '*', operations: ['invoke'] }]),
    token('cap-path', [grant([{ type: 'path_prefix', value: '/workspace/' }])]),
    token('cap-exact', [grant([{ type: 'domain_exact', value: 'api.example.com' }])]),
    token('cap-glob', [grant([{ type: 'domain_glob', value: '*.example.com' }])]),
    token('cap-regex', [grant([{ type: 'regex_match', value: '^[a-z]+$' }])]),
    token('cap-len', [grant([{ type: 'max_length', value: 5 }])]),
    token('cap-size', [grant([{ type: 'max_args_size', value: 20 }])]),
    token('cap-custom', [grant([{ type: 'custom', value: ['mode', 'read'] }])]),
    token('cap-unknown', [grant([{ type: 'no_such_constraint', value: 1 }])]),
    token('cap-budget', [grant(null, { max_invocations: 2 })]),
    token('cap-dpop', [grant(null, { dpop_required: true })]),
    token('cap-tool', [{ server_id: 'srv-echo', tool_name: 'only_this', operations: ['invoke'] }]),
    token('cap-read', [{ server_id: '*', tool_name: '*', operations: ['read_result'] }]),
    token('cap-late', [grant()], { issued_at: 1710000500 }),
    token('cap-foreign', [grant()], {}, '2a'.repeat(32)),
    token('cap-other-agent', [grant()], { subject: pubOf('0d'.repeat(32)) }),
    token('cap-revoked', [grant()]),
    delegated('cap-deleg', 2),
    delegated('cap-deep', 5),
  ];
  const bad = { ...token('cap-tampered', [grant()]) };
  bad.scope = { grants: [{ ...bad.scope.grants[0], tool_name: 'file_write' }] };
  caps.push(bad);

  const raw = [];
  let n = 0;
  const call = (cap, server, tool, args, extra = {}) => {
    const step = { op: 'call', session: 's1', capability_id: cap, server, tool, ...extra };
    if (args !== undefined) {
      step.arguments = `@@ARGS${n}@@`;
      raw.push(typeof args === 'string' ? args : JSON.stringify(args));
      n++;
    }
    return step;
  };
  const steps = [
    { op: 'open_session', session: 's1', agent: pubOf(AGENT_SEED), capabilities: caps },
    call('cap-all', 'srv-echo', 'echo', { path: '/workspace/a' }),
    call('cap-all', 'srv-echo', 'echo', { path: '/etc/passwd' }),
    call('cap-all', 'srv-echo', 'echo', { note: 'key AKIAABCDEFGHIJKLMNOP here', k: 1 }),
    call('cap-all', 'srv-echo', 'echo', { AKIAABCDEFGHIJKLMNOP: 'as a key' }),
    call('cap-path', 'srv-echo', 'echo', { path: '/workspace/ok' }),
    call('cap-path', 'srv-echo', 'echo', { path: '/workspace/../etc' }),
    call('cap-exact', 'srv-echo', 'echo', { url: 'https://api.example.com/x' }),
    call('cap-exact', 'srv-echo', 'echo', { url: 'https://evil.com/x' }),
    call('cap-glob', 'srv-echo', 'echo', { url: 'https://a.example.com/' }),
    call('cap-glob', 'srv-echo', 'echo', { url: 'https://example.org/' }),
    call('cap-regex', 'srv-echo', 'echo', { q: 'abc' }),
    call('cap-regex', 'srv-echo', 'echo', { q: 'ABC1' }),
    call('cap-len', 'srv-echo', 'echo', { q: 'abcdef' }),
    call('cap-size', 'srv-echo', 'echo', { q: 'x'.repeat(40) }),
    call('cap-custom', 'srv-echo', 'echo', { mode: 'read' }),
    call('cap-custom', 'srv-echo', 'echo', { mode: 'write' }),
    call('cap-unknown', 'srv-echo', 'echo', {}),
    call('cap-budget', 'srv-echo', 'echo', { i: 1 }),
    call('cap-budget', 'srv-echo', 'echo', { i: 2 }),
    call('cap-budget', 'srv-echo', 'echo', { i: 3 }),
    call('cap-dpop', 'srv-echo', 'echo', {}),
    call('cap-tool', 'srv-echo', 'echo', {}),
    call('cap-read', 'srv-echo', 'echo', {}),
    call('cap-late', 'srv-echo', 'echo', {}),
    call('cap-foreign', 'srv-echo', 'echo', {}),
    call('cap-other-agent', 'srv-echo', 'echo', {}),
    call('cap-tampered', 'srv-echo', 'echo', {}),
    call('cap-deleg', 'srv-echo', 'echo', { d: 2 }),
    call('cap-deep', 'srv-echo', 'echo', { d: 5 }),
    call('cap-all', 'srv-echo', 'echo', {}, { at: 1710001000 }),
    { op: 'revoke', capability_id: 'cap-revoked' },
    call('cap-revoked', 'srv-echo', 'echo', {}),
    call('cap-all', 'srv-fail', 'boom', {}),
    call('cap-all', 'srv-stream', 'big', {}),
    call('cap-all', 'srv-stream', 'small', undefined),
    call('cap-all', 'srv-sample', 'ask', { q: 'sample' }),
    call('cap-all', 'srv-elicit', 'ask', { q: 'elicit AKIAABCDEFGHIJKLMNOP' }),
    call('cap-all', 'srv-tools', 'ask', { q: 'tools' }),
    call('cap-all', 'srv-echo', 'echo', '[1e21,1e-7,5e-324,-0,-0.0,9007199254740993,18446744073709551615,0.30000000000000004,1E20,"\\u007f\\u009f\\u2028\\ud83d\\ude00/"]'),
    call('cap-all', 'srv-echo', 'echo', '{"\\ue000":1,"\\ud800\\udc00":2,"a":{"b":[],"a":{}},"":null}'),
  ];
  for (let i = 0; i < randomCalls; i++) {
    let text;
    do text = randomJsonText(r); while ((() => { try { w.canonicalize(text); return text.includes('\\u0000'); } catch { return true; } })());
    steps.push(call('cap-all', 'srv-echo', 'echo', text));
  }
  steps.push({ op: 'close_session', session: 's1' });
  const doc = {
    schema: 'chio.scenario.v1',
    clock: CLOCK,
    kernel: {
      signing_seed_hex: KERNEL_SEED, policy_hash: 'interop-policy', max_delegation_depth: 4,
      checkpoint_batch_size: 5, max_stream_total_bytes: 100, allow_sampling: true,
    },
    tool_servers: [
      { server_id: 'srv-echo', tools: ['echo', 'only_this'], behavior: 'echo' },
      { server_id: 'srv-fail', tools: ['boom'], behavior: 'fail' },
      { server_id: 'srv-stream', tools: ['big', 'small'], behavior: 'stream', chunks: 8, chunk_bytes: 20 },
      { server_id: 'srv-sample', tools: ['ask'], behavior: 'sample' },
      { server_id: 'srv-elicit', tools: ['ask'], behavior: 'elicit' },
      { server_id: 'srv-tools', tools: ['ask'], behavior: 'sample_with_tools' },
    ],
    guards: [
      { name: 'ForbiddenPathGuard', type: 'forbidden_path', prefixes: ['/etc/'] },
      { name: 'SecretLeakGuard', type: 'secret_leak', patterns: ['AKIA[0-9A-Z]{16}'] },
    ],
    steps,
  };
  return JSON.stringify(doc).replace(/"@@ARGS(\d+)@@"/g, (_, i) => raw[Number(i)]);
}
