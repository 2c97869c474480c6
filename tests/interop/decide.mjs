// decide.mjs: a second reading of the kernel's DECISION for tool calls,
// written from spec/kernel.md ("The pipeline, in order"), wire-format.md 4
// and docs/spec-reading.md / security.md, with chio's sources settling what
// those leave open. It replays a chio.scenario.v1 document step by step and
// says, for each call, the verdict, the code and the check (or guard) that
// denied: the differential check in interop.test.mjs compares it with
// `chio scenario run`. Not libchio's code: an independent model.
//
// Covered: checks 1-11 for the scenarios decide-gen.mjs writes (echo,
// fail and stream tools, the stream's byte and duration limits; sample,
// sample_with_tools and elicit tools with their child receipts under the
// allow_* flags; forbidden_path and secret_leak guards and every
// constraint kind over simple argument values), sessions (reopened labels,
// unknown names, draining and closing twice), revocation (of ids nobody
// holds too), the pre-checks invalid_request (empty names) and
// unknown_capability, the no-receipt errors of closed, draining and
// unknown sessions, of a drained kernel and of require_web3_evidence
// unmet, and the defaults of omitted kernel fields. Steps' `at` may go
// back and forth (and steps without `at` read `clock`): check 2 reads the
// step's time alone, as kernel.md says, which holds while the kernel's
// budget and revocation tables are small (docs/spec-reading.md, "A clock
// that steps back"; the generator's scenarios are).
//
// Readings, each marked READING where made:
//   - expiry before not-yet-valid; signature before issuer; depth before
//     link validity (chio: check_time_bounds, validate_delegation_chain);
//   - scope before registration (spec order: check 6 then 7);
//   - budgets (check 8): every grant that matches the call and whose
//     constraints hold is a candidate, tried most specific first (server
//     named exactly, tool named exactly, more constraints), then in token
//     order; the first with budget left (or none set) is charged; the call
//     is budget_exhausted only when every candidate is spent (chio's
//     check_and_increment_budget over resolve_matching_grants);
//   - open_session refuses tokens it cannot read (OPEN below);
//   - the no-receipt errors, kernel-wide before per-session: kernel_drained,
//     then web3_evidence_required, then session_closed / unknown_session /
//     session_draining (docs/spec-reading.md);
//   - a nested request "includes tools" when the request has a `tools`
//     member (sample_with_tools): allow_sampling is checked first, then
//     allow_sampling_tool_use; the call itself goes on (the tool echoes).

import * as w from './chio-wire.mjs';

const OPS_INVOKE = 'invoke';

// ---- arguments: the simple values the generator writes -----------------------

// Every string leaf (object member values and array items), with its key.
function leaves(v, key = null, out = []) {
  if (typeof v === 'string') out.push([key, v]);
  else if (Array.isArray(v)) v.forEach((x) => leaves(x, key, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(x, k, out);
  return out;
}

// READING (security.md, review 43): a string leaf that is itself a JSON
// object or array (a body or options a tool parses) is read as arguments
// under its key; its leaves must hold too, and do not count as the path or
// URL the arguments name. (Duplicate keys inside, which the kernel denies,
// are not modelled: JSON.parse keeps the last.)
function embeddedLeaves(ls, depth = 0) {
  const out = [];
  for (const [k, s] of ls) {
    if (!/^[ \t\n\r]*[{[][\s\S]*[}\]][ \t\n\r]*$/.test(s)) continue;
    let v;
    try { v = JSON.parse(s); } catch { continue; }
    if (v === null || typeof v !== 'object') continue;
    const inner = leaves(v, k);
    out.push(...inner, ...(depth < 4 ? embeddedLeaves(inner, depth + 1) : []));
  }
  return out;
}

function keysOf(v, out = []) {
  if (Array.isArray(v)) v.forEach((x) => keysOf(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push(k); keysOf(x, out); }
  return out;
}

// security.md "Which strings are paths".
export function isPathCandidate(key, s) {
  if (key && /path|file|dir|folder|root|cwd/i.test(key)) return true;
  if (/^([/\\~.]|file:)/i.test(s)) return true;
  return /[/\\]|%2f|%5c|%2e/i.test(s);
}

// An absolute path's segments ('.' and empty dropped, '..' pops); null for
// a relative or unreadable one (no such path is under any prefix).
function segments(p) {
  if (!p.startsWith('/')) return null;
  const out = [];
  for (const s of p.split(/[/\\]/)) {
    if (s === '' || s === '.') continue;
    if (s === '..') { if (out.length === 0) return null; out.pop(); } else out.push(s);
  }
  return out;
}

function under(path, prefix, fold) {
  const a = segments(fold ? path.toLowerCase() : path);
  const b = segments(fold ? prefix.toLowerCase() : prefix);
  return a !== null && b !== null && b.length <= a.length && b.every((s, i) => s === a[i]);
}

// security.md "How a host is read", for plain URLs and bare hosts.
const URL_KEY = /url|uri|host|domain|endpoint|href|link|address|origin|site|proxy|webhook|redirect|referer/i;
function urlHost(key, s) {
  if (s.includes('://') || /^(https?|wss?|ftp|file):/i.test(s) || s.startsWith('//')) {
    const m = /^[a-z]*:?\/\/([^/?#\\]*)/i.exec(s);
    return { candidate: true, host: m ? m[1].toLowerCase().replace(/\.$/, '') : null };
  }
  if (key && URL_KEY.test(key)) return { candidate: true, host: /[/\\@:?#]/.test(s) ? null : s.toLowerCase() };
  return { candidate: false };
}

// chio's own reading of any string leaf as a host (its kernel's parse_domain):
// review 46 holds it to the domain constraints too (a check, not a candidate).
function chioHost(s) {
  let v = s.trim();
  const i = v.indexOf('://');
  if (i >= 0) v = v.slice(i + 3);
  v = v.split(/[/?#]/)[0];
  v = v.slice(v.lastIndexOf('@') + 1).split(':')[0].replace(/^\.+|\.+$/g, '').toLowerCase();
  return v === 'localhost' || (v.includes('.') && /^[a-z0-9.-]+$/.test(v)) ? v : null;
}

function globMatch(glob, host) {
  const re = new RegExp(`^${glob.toLowerCase().split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(host);
}

const CONSTRAINTS = new Set(['path_prefix', 'domain_exact', 'domain_glob', 'regex_match', 'max_length', 'max_args_size', 'custom']);

// Does constraint c hold on args? (kinds in CONSTRAINTS only)
function holds(c, args) {
  const ls = leaves(args);
  switch (c.type) {
    case 'path_prefix': {
      const paths = ls.filter(([k, s]) => isPathCandidate(k, s));
      const inner = embeddedLeaves(ls).filter(([k, s]) => isPathCandidate(k, s));
      return paths.length > 0 && [...paths, ...inner].every(([, s]) => under(s, c.value, false));
    }
    case 'domain_exact':
    case 'domain_glob': {
      const hosts = ls.map(([k, s]) => urlHost(k, s)).filter((h) => h.candidate);
      const inner = embeddedLeaves(ls).map(([k, s]) => urlHost(k, s)).filter((h) => h.candidate);
      const want = c.value.toLowerCase();
      const chio = [...ls, ...embeddedLeaves(ls)].map(([, s]) => chioHost(s)).filter((h) => h !== null)
        .map((host) => ({ host }));
      return hosts.length > 0 && [...hosts, ...inner, ...chio].every((h) => h.host !== null
        && (c.type === 'domain_exact' ? h.host === want : globMatch(want, h.host)));
    }
    case 'regex_match': return ls.some(([, s]) => new RegExp(c.value).test(s));
    // READING: object keys are strings a tool reads too (a map's keys).
    case 'max_length': return [...ls.map(([, s]) => s), ...keysOf(args)].every((s) => Buffer.byteLength(s) <= c.value);
    case 'max_args_size': return w.canonicalJs(args).length <= c.value;
    case 'custom': {
      // READING: every member named k, at any depth, is the string v, and
      // there is one (members that disagree are ambiguous: a decoy passes not).
      const named = [];
      const walk = (v) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { if (k === c.value[0]) named.push(x); walk(x); }
      };
      walk(args);
      return named.length > 0 && named.every((x) => x === c.value[1]);
    }
    default: throw new Error(`decide.mjs: constraint ${c.type}`);
  }
}

// A grant the kernel cannot enforce (security.md "No grant field is ignored").
// READING: a null constraint list is no list (chio cannot read the grant),
// not "no constraints".
function unusable(g) {
  if (g.constraints === null) return true;
  if (g.dpop_required === true || 'max_cost_per_invocation' in g || 'max_total_cost' in g) return true;
  return (g.constraints || []).some((c) => !CONSTRAINTS.has(c.type));
}

// ---- guards --------------------------------------------------------------------

// The spec's rule first: a string that starts with a prefix, as written
// (whatever it is: "rm -rf" or "secret" too); then, as a reading of our own,
// paths in running text word by word, keys and values (security.md
// forbidden_path).
function forbiddenHit(prefixes, args) {
  const strings = [...leaves(args).map(([, s]) => s), ...keysOf(args)];
  if (strings.some((s) => prefixes.some((p) => s.startsWith(p)))) return true;
  return strings.some((s) => s.split(/\s+/).some((word) => prefixes.some((p) => isPathCandidate(null, word) && under(word, p, true))));
}

function secretHit(patterns, args) {
  const strings = [...leaves(args).map(([, s]) => s), ...keysOf(args)];
  return strings.some((s) => patterns.some((p) => new RegExp(p).test(s)));
}

// ---- tokens ----------------------------------------------------------------------

function chainOf(n) {
  return n.v.has('delegation_chain') ? n.v.get('delegation_chain').v : [];
}

// Checks 1-5 of one token (the JS object as given in the scenario).
function checkToken(t, ctx) {
  const n = w.normalizeToken(w.fromJs(t));
  const issuer = n.v.get('issuer').v;
  if (!w.verifySig(issuer, w.tokenMessage(n), n.v.get('signature').v)) return 'invalid_signature';
  if (!ctx.trusted.has(issuer)) return 'untrusted_issuer';
  // READING: expiry first (chio's check_time_bounds).
  if (ctx.now >= t.expires_at) return 'capability_expired';
  if (ctx.now < t.issued_at) return 'capability_not_yet_valid';
  const chain = chainOf(n);
  if (ctx.revoked.has(t.id) || chain.some((l) => ctx.revoked.has(l.v.get('capability_id').v))) return 'capability_revoked';
  if (chain.length > ctx.maxDepth) return 'delegation_depth_exceeded';
  if (w.chainError(n, ctx.maxDepth) !== null) return 'delegation_invalid';
  if (w.normPubkey(t.subject) !== ctx.agent) return 'subject_mismatch';
  return null;
}

const nameMatches = (g, x) => g === '*' || g === x;
const TOKEN_MEMBERS = ['id', 'issuer', 'subject', 'scope', 'issued_at', 'expires_at', 'signature'];

// Check 6: the candidate grants (indices, budget order), or the code.
function scope(t, server, tool, args) {
  const grants = (t.scope && t.scope.grants) || [];
  let matched = false;
  let usable = false;
  const cands = [];
  grants.forEach((g, i) => {
    if (!nameMatches(g.server_id, server) || !nameMatches(g.tool_name, tool) || !g.operations.includes(OPS_INVOKE)) return;
    matched = true;
    if (unusable(g)) return;
    usable = true;
    if ((g.constraints || []).every((c) => holds(c, args))) cands.push(i);
  });
  if (cands.length > 0) {
    // READING: chio's specificity order for the budget (header).
    const spec = (i) => [grants[i].server_id === server ? 1 : 0, grants[i].tool_name === tool ? 1 : 0, (grants[i].constraints || []).length];
    cands.sort((a, b) => {
      const x = spec(a); const y = spec(b);
      for (let k = 0; k < 3; k++) if (x[k] !== y[k]) return y[k] - x[k];
      return a - b;
    });
    return { cands };
  }
  if (!matched) return { code: 'out_of_scope' };
  return { code: usable ? 'constraint_violated' : 'unsupported_grant' };
}

// ---- the kernel model ---------------------------------------------------------------

export class KernelModel {
  constructor(doc) {
    const k = doc.kernel || {};
    this.kernelKey = w.keypair(k.signing_seed_hex).publicHex;
    this.trusted = new Set([this.kernelKey, ...(k.ca_public_keys || []).map(w.normPubkey)]);
    this.maxDepth = k.max_delegation_depth ?? 4;
    this.maxStreamBytes = k.max_stream_total_bytes ?? 268435456;
    this.maxStreamMs = (k.max_stream_duration_secs ?? 300) * 1000;
    this.allow = { sampling: k.allow_sampling === true, toolUse: k.allow_sampling_tool_use === true, elicitation: k.allow_elicitation === true };
    // kernel.md: without a durable store (the runner always has one) or
    // checkpoints, every call fails with an error and no receipt.
    this.web3Unmet = k.require_web3_evidence === true && (k.checkpoint_batch_size ?? 100) === 0;
    this.clock = doc.clock;
    this.servers = new Map((doc.tool_servers || []).map((s) => [s.server_id, s]));
    this.guards = doc.guards || [];
    this.revoked = new Set();
    this.budgets = new Map(); // `${capability id}\0${grant index}` -> count
    this.sessions = new Map(); // label -> {agent, caps: Map id -> token, state}
  }

  // The expected line for one step: calls {verdict, code, guard, children},
  // others {ok}.
  step(s) {
    const now = s.at ?? this.clock;
    switch (s.op) {
      case 'open_session': {
        if (this.drained) return { ok: false };
        // READING (OPEN): a token the kernel cannot read (not JSON, a required
        // member missing) or one id given twice with different bytes
        // refuses the whole session, and the label stays as it was.
        // "Different bytes" of the token read (canonical): the same token
        // as text and as an object collapses.
        const caps = new Map();
        const bytes = new Map();
        for (const x of s.capabilities || []) {
          let t;
          try { t = typeof x === 'string' ? JSON.parse(x) : x; } catch { return { ok: false }; }
          if (!t || typeof t !== 'object' || TOKEN_MEMBERS.some((m) => !(m in t))) return { ok: false };
          const b = w.canonicalJs(t).toString('latin1');
          if (bytes.has(t.id) && bytes.get(t.id) !== b) return { ok: false };
          caps.set(t.id, t);
          bytes.set(t.id, b);
        }
        this.sessions.set(s.session, { agent: w.normPubkey(s.agent) || s.agent, state: 'ready', caps });
        return { ok: true };
      }
      case 'revoke':
        // Any id, held by a session or not (kernel.md sets no condition).
        if (this.drained) return { ok: false };
        this.revoked.add(s.capability_id);
        return { ok: true };
      case 'begin_draining': {
        const x = this.sessions.get(s.session);
        if (!x || x.state === 'closed') return { ok: false };
        x.state = 'draining';
        return { ok: true };
      }
      case 'close_session': {
        // Closing a closed session is a no-op; an unknown one an error.
        const x = this.sessions.get(s.session);
        if (!x) return { ok: false };
        x.state = 'closed';
        return { ok: true };
      }
      case 'drain':
        this.drained = true;
        return { ok: true };
      case 'call': return this.call(s, now);
      default: throw new Error(`decide.mjs: op ${s.op}`);
    }
  }

  call(s, now) {
    if (this.drained) return { verdict: 'error', code: 'kernel_drained' };
    if (this.web3Unmet) return { verdict: 'error', code: 'web3_evidence_required' };
    const x = this.sessions.get(s.session);
    if (!x) return { verdict: 'error', code: 'unknown_session' };
    if (x.state === 'closed') return { verdict: 'error', code: 'session_closed' };
    if (x.state === 'draining') return { verdict: 'error', code: 'session_draining' };
    const deny = (code, guard = code) => ({ verdict: 'deny', code, guard, check: code });
    // Refusals before the checks (spec-reading.md, "The pipeline's order").
    if (s.server === '' || s.tool === '') return deny('invalid_request');
    const t = x.caps.get(s.capability_id);
    if (!t) return deny('unknown_capability');
    const args = s.arguments === undefined ? {} : s.arguments;
    const bad = checkToken(t, { now, trusted: this.trusted, revoked: this.revoked, maxDepth: this.maxDepth, agent: x.agent });
    if (bad) return deny(bad);
    const sc = scope(t, s.server, s.tool, args);
    if (sc.code) return deny(sc.code);
    const srv = this.servers.get(s.server);
    if (!srv || !(srv.tools || []).includes(s.tool)) return deny('tool_not_registered');
    // Check 8 (READING in the header).
    let charged = false;
    let exhausted = false;
    for (const i of sc.cands) {
      const g = t.scope.grants[i];
      if (g.max_invocations === undefined) { charged = true; break; }
      const key = `${t.id}\0${i}`;
      const used = this.budgets.get(key) || 0;
      if (used < g.max_invocations) { this.budgets.set(key, used + 1); charged = true; break; }
      exhausted = true;
    }
    if (!charged && exhausted) return deny('budget_exhausted');
    for (const gd of this.guards) {
      const hit = gd.type === 'forbidden_path' ? forbiddenHit(gd.prefixes || [], args) : secretHit(gd.patterns || [], args);
      if (hit) return { verdict: 'deny', code: 'guard_denied', guard: gd.name, check: 'guard_denied' };
    }
    const behavior = srv.behavior || 'echo';
    if (behavior === 'fail') return deny('tool_error');
    // Nested flows: one child receipt, allowed or denied by the flags; the
    // tool goes on and echoes either way.
    const child = (tool, guard) => ({ verdict: 'allow', code: 'none', guard: null, check: 'allow', children: [{ tool, guard }] });
    if (behavior === 'sample' || behavior === 'sample_with_tools') {
      const guard = !this.allow.sampling ? 'sampling_not_allowed'
        : behavior === 'sample_with_tools' && !this.allow.toolUse ? 'sampling_tool_use_not_allowed' : null;
      return child('sampling/createMessage', guard);
    }
    if (behavior === 'elicit') return child('elicitation/create', this.allow.elicitation ? null : 'elicitation_not_allowed');
    // Check 11: a stream whose canonical chunks pass the byte limit ends
    // incomplete (its decision has no guard).
    // The duration limit (0 = none) likewise, for delays well away from it.
    const ms = (srv.chunks ?? 1) * (srv.delay_ms ?? 0);
    if (srv.behavior === 'stream' && ((srv.chunks ?? 1) * (srv.chunk_bytes ?? 16) > this.maxStreamBytes
      || (this.maxStreamMs > 0 && ms > this.maxStreamMs))) {
      return { verdict: 'incomplete', code: 'stream_limit', guard: null, check: 'stream_limit' };
    }
    return { verdict: 'allow', code: 'none', guard: null, check: 'allow' };
  }
}

// Expected lines for every step of a scenario document.
export function decideScenario(doc) {
  const m = new KernelModel(doc);
  return doc.steps.map((s) => m.step(s));
}
