// decide-gen.mjs: seeded random chio.scenario.v1 documents for the
// differential check of the kernel's decisions (decide.mjs against
// `chio scenario run`). Same seed, same document.
//
// Each document: a kernel with a random max_delegation_depth (0..4), one
// trusted CA beside the kernel's own key; tokens from the kernel key, the
// CA or an untrusted key, some with a tampered signature, with issued_at /
// expires_at scattered around the clock (empty and inverted windows
// included), subjects of either session's agent or of nobody, delegation
// chains of 0..depth+2 links (valid, or with one bad signature, one broken
// delegator link or one timestamp going back), grants with server/tool
// wildcards, operations with or without invoke, max_invocations (0
// included), every constraint kind on simple values and grants the kernel
// cannot enforce; guards forbidden_path and secret_leak in random order;
// echo, fail and stream tools (under and over max_stream_total_bytes),
// sample, sample_with_tools and elicit tools under random allow_* flags,
// tools and servers that are not registered, empty names; calls whose `at`
// walks through every token's boundaries, forth and now and then back (a
// step without `at` reads `clock`, before every token's end), revocations
// of tokens, of delegation ids and of ids nobody holds between calls;
// sessions drained, closed (twice), reopened under their label, and named
// when never opened, between calls and at the end (and, now and then, a
// drained kernel); kernel fields omitted (their defaults) and
// require_web3_evidence with and without checkpoints. Argument values are
// plain (no URL or path parsing edge cases: those are normalize's tests).

import * as w from './chio-wire.mjs';
import { pubOf } from './gen-wire.mjs';

export const KERNEL_SEED = '07'.repeat(32);
const CA_SEED = '0b'.repeat(32);
const ROGUE_SEED = '2a'.repeat(32);
const AGENTS = ['0c', '0d'].map((b) => b.repeat(32));
const NOBODY = 'fe'.repeat(32);
const LINK_SEEDS = ['0c', '0d', 'fe', '0b', '2a', '07'].map((b) => b.repeat(32));
const BASE = 1710000000;

export const VALUES = {
  path: ['/workspace/a', '/workspace/sub/b.txt', '/etc/passwd', '/tmp/x', '/ETC/hosts'],
  url: ['https://api.example.com/v1', 'https://a.example.com/x', 'https://evil.com/', 'https://example.com/'],
  q: ['abc', 'hello', 'ABC1', 'x', 'AKIAABCDEFGHIJKLMNOP', 'see /etc/passwd', 'a much longer string value'],
  mode: ['read', 'write'],
  n: [1, 42],
};

const CONSTRAINT_POOL = [
  { type: 'path_prefix', value: '/workspace/' }, { type: 'path_prefix', value: '/tmp' },
  { type: 'domain_exact', value: 'api.example.com' }, { type: 'domain_glob', value: '*.example.com' },
  { type: 'regex_match', value: '^[a-z]+$' }, { type: 'regex_match', value: 'example\\.com' },
  { type: 'max_length', value: 3 }, { type: 'max_length', value: 12 }, { type: 'max_length', value: 40 },
  { type: 'max_args_size', value: 2 }, { type: 'max_args_size', value: 30 }, { type: 'max_args_size', value: 80 },
  { type: 'custom', value: ['mode', 'read'] },
];

export const SERVERS = [
  { server_id: 'srv-a', tools: ['t1', 't2'], behavior: 'echo' },
  { server_id: 'srv-f', tools: ['boom'], behavior: 'fail' },
  { server_id: 'srv-s', tools: ['st'], behavior: 'stream', chunks: 3, chunk_bytes: 20 },
  { server_id: 'srv-n', tools: ['ask'], behavior: 'sample' },
  { server_id: 'srv-nt', tools: ['ask'], behavior: 'sample_with_tools' },
  { server_id: 'srv-e', tools: ['ask'], behavior: 'elicit' },
];
// Targets calls name: registered or not (server or tool).
const TARGETS = [['srv-a', 't1'], ['srv-a', 't1'], ['srv-a', 't1'], ['srv-a', 't2'], ['srv-a', 't3'], ['srv-f', 'boom'], ['srv-f', 'boom'],
  ['srv-x', 't1'], ['srv-s', 'st'], ['srv-n', 'ask'], ['srv-nt', 'ask'], ['srv-e', 'ask']];

function randomArgs(r) {
  const a = {};
  for (let i = r.int(4); i > 0; i--) {
    const k = r.pick(Object.keys(VALUES));
    a[k] = r.pick(VALUES[k]);
  }
  if (r.chance(0.1)) a.opts = { mode: r.pick(VALUES.mode) };
  if (r.chance(0.04)) a[r.pick(['/etc/shadow', 'AKIAABCDEFGHIJKLMNOP', '/workspace/k'])] = 1; // guards read keys too
  if (r.chance(0.05)) return { list: [r.pick(VALUES.q), r.pick(VALUES.path)] };
  if (r.chance(0.04)) return r.pick([null, 42, r.pick(VALUES.path), [r.pick(VALUES.q)], []]); // any JSON value
  return a;
}

function randomGrant(r) {
  const g = {
    server_id: r.pick(['srv-a', 'srv-a', 'srv-a', 'srv-f', 'srv-s', 'srv-x', 'srv-n', 'srv-e', '*', '*']),
    tool_name: r.pick(['t1', 't1', 't2', 't3', 'boom', 'st', 'ask', '*', '*', '*']),
    operations: r.chance(0.85) ? ['invoke', ...(r.chance(0.3) ? ['read_result'] : [])] : [r.pick(['read_result', 'read', 'get', 'delegate'])],
  };
  if (r.chance(0.45)) g.constraints = Array.from({ length: 1 + r.int(2) }, () => r.pick(CONSTRAINT_POOL));
  if (r.chance(0.3)) g.max_invocations = r.pick([0, 1, 1, 2, 3]);
  const odd = r.int(30);
  if (odd === 0) g.dpop_required = true;
  else if (odd === 1) g.constraints = [...(g.constraints || []), { type: 'no_such_kind', value: 1 }];
  else if (odd === 2) g.max_cost_per_invocation = { units: 5, currency: 'USD' };
  else if (odd === 3) g.dpop_required = false;
  return g;
}

// A delegation chain of n links: valid, or broken in one place.
function randomChain(r, n, ts0) {
  const chain = [];
  let from = r.pick(LINK_SEEDS);
  let ts = ts0;
  for (let i = 0; i < n; i++) {
    const to = r.pick(LINK_SEEDS);
    ts += r.int(3);
    // Ancestors: ids of their own, or of another token of the scenario
    // (revoking that token then revokes this one too). With
    // max_delegation_depth 0 too: the kernel keeps every revocation
    // (interop.test.mjs checks it past 1024 entries).
    const id = r.chance(0.25) ? `cap-${r.int(12)}` : `parent-${r.int(6)}`;
    chain.push({ from, l: { capability_id: id, delegatee: pubOf(to), timestamp: ts } });
    from = to;
  }
  const broken = n > 0 && r.chance(0.5) ? { at: r.int(n), how: r.int(3) } : null;
  return chain.map(({ from: f, l }, i) => {
    if (broken && broken.at === i) {
      if (broken.how === 0) return { ...w.signLink(l, f), signature: w.signLink({ ...l, timestamp: l.timestamp + 1 }, f).signature };
      if (broken.how === 1 && i > 0) return w.signLink(l, r.pick(LINK_SEEDS.filter((s) => pubOf(s) !== chain[i - 1].l.delegatee)));
      if (i > 0) return w.signLink({ ...l, timestamp: chain[i - 1].l.timestamp - 1 }, f);
    }
    return w.signLink(l, f);
  });
}

function randomToken(r, id, maxDepth) {
  // Most tokens cover the calls; the others start or end among them.
  const long = r.chance(0.6);
  const issuedAt = long ? BASE - 50 - r.int(20) : BASE + r.int(30) - 10;
  const t = {
    id,
    subject: pubOf(r.chance(0.85) ? r.pick(AGENTS) : NOBODY),
    // Now and then more grants than the kernel keeps on its stack.
    scope: { grants: Array.from({ length: r.chance(0.04) ? 17 + r.int(4) : 1 + r.int(3) }, () => randomGrant(r)) },
    issued_at: issuedAt,
    expires_at: r.chance(0.04) ? issuedAt - r.int(2) : long ? BASE + 40 + r.int(20) : issuedAt + 1 + r.int(40),
  };
  if (r.chance(0.45)) t.delegation_chain = randomChain(r, r.int(maxDepth + 3), issuedAt - 5);
  if (r.chance(0.05)) t.subject = t.subject.toUpperCase(); // keys are read in either case
  const issuer = r.chance(0.5) ? KERNEL_SEED : r.chance(0.85) ? CA_SEED : ROGUE_SEED;
  const signed = w.signToken(t, issuer);
  if (r.chance(0.04)) return { ...signed, expires_at: signed.expires_at + 1 }; // signature no longer covers it
  return signed;
}

// The kernel: fields omitted now and then (their defaults: depth 4,
// max_stream_total_bytes 256 MiB, checkpoints every 100), random allow_*
// flags, require_web3_evidence met (checkpoints on) or not (off).
function randomKernel(r, maxDepth) {
  const k = {
    signing_seed_hex: KERNEL_SEED, ca_public_keys: [pubOf(CA_SEED)], policy_hash: 'decide-diff',
    max_delegation_depth: maxDepth, checkpoint_batch_size: r.pick([0, 0, 7]), max_stream_total_bytes: r.pick([0, 60, 59, 1000]),
  };
  for (const f of ['max_delegation_depth', 'checkpoint_batch_size', 'max_stream_total_bytes', 'policy_hash']) if (r.chance(0.1)) delete k[f];
  for (const f of ['allow_sampling', 'allow_sampling_tool_use', 'allow_elicitation']) if (r.chance(0.6)) k[f] = r.chance(0.5);
  if (r.chance(0.08)) k.require_web3_evidence = true;
  return k;
}

// One scenario document (a JS object; arguments are plain JSON).
export function randomScenario(r, { calls = 80, tokens = 12 } = {}) {
  for (let i = 0; i < 8; i++) r.next(); // xorshift's first draws from a small seed are near 0
  const maxDepth = r.int(5);
  const toks = Array.from({ length: tokens }, (_, i) => randomToken(r, `cap-${i}`, maxDepth));
  // One plain token valid through every mark, with a small budget, so that
  // each scenario reaches the later checks (budgets, guards, tools, streams).
  toks[tokens - 1] = w.signToken({
    id: `cap-${tokens - 1}`, subject: pubOf(AGENTS[0]), issued_at: BASE - 100, expires_at: BASE + 100,
    scope: { grants: [{ server_id: '*', tool_name: '*', operations: ['invoke'], max_invocations: 2 + r.int(6) }] },
  }, KERNEL_SEED);
  // Sessions: s0 for agent 0, s1 for agent 1 (sometimes written in
  // uppercase), s2 for agent 0 again; tokens dealt to 1 or 2 of them.
  const sessions = ['s0', 's1', 's2'];
  const agentOf = { s0: pubOf(AGENTS[0]), s1: pubOf(AGENTS[1]), s2: pubOf(AGENTS[0]) };
  if (r.chance(0.3)) agentOf.s1 = agentOf.s1.toUpperCase();
  else if (r.chance(0.3)) agentOf.s1 = `0x${agentOf.s1}`;
  const held = { s0: [], s1: [], s2: [] };
  toks.forEach((t) => {
    const own = sessions.filter((s) => agentOf[s].toLowerCase().replace(/^0x/, '') === t.subject.toLowerCase());
    held[own.length > 0 && r.chance(0.8) ? r.pick(own) : r.pick(sessions)].push(t);
    if (r.chance(0.3)) {
      const other = r.pick(sessions);
      if (!held[other].includes(t)) held[other].push(t);
    }
  });
  // Times: every boundary of every token, +-1, walked in order.
  const marks = new Set([BASE]);
  toks.forEach((t) => [t.issued_at - 1, t.issued_at, t.expires_at - 1, t.expires_at, t.expires_at + 1].forEach((x) => marks.add(x)));
  const times = [...marks].sort((a, b) => a - b);
  // Forth through the marks, and now and then back: a run of steps is
  // reversed, or a step reads `clock` (BASE, before every token's end).
  // Two passes now and then: the second starts again from the first
  // marks once every token has been seen expired (budgets spent before,
  // revocations made, must hold on).
  const draw = (n) => Array.from({ length: n }, () => (r.chance(0.5) ? r.pick(times) : BASE + r.int(30))).sort((a, b) => a - b);
  const second = r.chance(0.5) ? Math.floor(calls * 0.4) : 0;
  const callTimes = [...draw(calls - second), ...draw(second)];
  for (let i = 0; i + 4 < calls; i += 5 + r.int(10)) if (r.chance(0.3)) callTimes.splice(i, 4, ...callTimes.slice(i, i + 4).reverse());
  const at = (x) => (r.chance(0.1) ? {} : { at: x });
  const open = (s, x) => ({ op: 'open_session', session: s, agent: agentOf[s], capabilities: held[s], ...at(x) });
  const steps = sessions.map((s) => open(s, callTimes[0]));
  callTimes.forEach((x, n) => {
    // Between the passes: a session closed (and reopened) long after every
    // token's end; closing runs the kernel's amortised sweep of expired
    // budgets, whose answers the second pass then reads.
    if (n === calls - second && second > 0) {
      const s = r.pick(sessions);
      steps.push({ op: 'close_session', session: s, at: BASE + 200 }, open(s, BASE + 200));
    }
    if (r.chance(0.03)) steps.push({ op: 'revoke', capability_id: r.chance(0.6) ? r.pick(toks).id : r.chance(0.7) ? `parent-${r.int(6)}` : 'held-by-nobody', ...at(x) });
    // Session ops between calls: drain or close one (a closed or
    // never-opened name too), or reopen a label (a fresh session).
    if (r.chance(0.03)) {
      const s = r.pick([...sessions, 's-never', 's-never']);
      const op = r.pick(['begin_draining', 'close_session', 'open_session', 'open_session', 'open_session']);
      steps.push(op === 'open_session' ? open(r.pick(sessions), x) : { op, session: s, ...at(x) });
    }
    const s = r.chance(0.02) ? 's-never' : r.pick(sessions);
    const ids = (held[s] || []).map((t) => t.id);
    const cap = ids.length > 0 && r.chance(0.92) ? r.pick(ids) : r.chance(0.5) ? r.pick(toks).id : 'cap-missing';
    const [server, tool] = r.chance(0.03) ? r.pick([['', 't1'], ['srv-a', '']]) : r.pick(TARGETS);
    const step = { op: 'call', session: s, capability_id: cap, server, tool, ...at(x) };
    if (r.chance(0.95)) step.arguments = randomArgs(r);
    steps.push(step);
  });
  const end = Math.max(...callTimes);
  const tail = (s) => ({ op: 'call', session: s, capability_id: held[s] && held[s][0] ? held[s][0].id : 'cap-0', server: 'srv-a', tool: 't1', at: end });
  steps.push({ op: 'begin_draining', session: 's1', at: end }, tail('s1'), { op: 'begin_draining', session: 's1', at: end });
  steps.push({ op: 'close_session', session: 's2', at: end }, tail('s2'), tail('s-never'), { op: 'close_session', session: 's2', at: end },
    { op: 'begin_draining', session: 's2', at: end }, { op: 'close_session', session: 's-never', at: end }, { op: 'begin_draining', session: 's-never', at: end });
  if (r.chance(0.5)) steps.push(open('s2', end), tail('s2'));
  if (r.chance(0.5)) steps.push({ op: 'drain', at: end }, tail('s0'), { op: 'revoke', capability_id: 'cap-0', at: end }, open('s0', end), { op: 'close_session', session: 's0', at: end });
  const guards = [
    { name: 'no-etc', type: 'forbidden_path', prefixes: ['/etc/'] },
    { name: 'no-keys', type: 'secret_leak', patterns: ['AKIA[0-9A-Z]{16}'] },
  ].filter(() => r.chance(0.75));
  if (guards.length === 2 && r.chance(0.5)) guards.reverse();
  return {
    schema: 'chio.scenario.v1',
    clock: BASE,
    kernel: randomKernel(r, maxDepth),
    tool_servers: SERVERS,
    guards,
    steps,
  };
}
