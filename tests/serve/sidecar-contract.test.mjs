// tests/serve/sidecar-contract.test.mjs: `chio serve` held to the sidecar
// contract (wire-format.md section 6, kernel.md's pipeline and codes,
// docs/sidecar.md) by an outside client: node:test, node:http and
// node:crypto only, no packages. It starts the real build/chio serve on a
// free loopback port with a real RocksDB store and a seed written here,
// speaks HTTP to it, checks every receipt it is handed with its own
// Ed25519 verification (wire-format.md section 3, tokens signed by
// tests/interop's independent implementation of the wire formats, never
// by libchio), and reads the store back with `chio receipt list` after
// the sidecar stopped: no answer without a persisted receipt.
// Run by `make sidecar-check` (in `make integration-check`).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse, canonicalBytes, sha256Hex, verifySig, keypair, canonicalJs } from '../interop/canon.mjs';
import { signToken } from '../interop/capability.mjs';
import { signReceipt } from '../interop/receipt.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = process.env.CHIO_CLI || path.resolve(here, '../../build/chio');
const BEARER = 'contract-test-bearer-0123456789';
const TMP = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'chio-sidecar-contract-'));
const cleanups = [];
after(() => {
  for (const f of cleanups.reverse()) f();
  fs.rmSync(TMP, { recursive: true, force: true });
});

const hex32 = () => crypto.randomBytes(32).toString('hex');
const KERNEL_SEED = hex32();
const KERNEL_KEY = keypair(KERNEL_SEED).publicHex;
const AGENT_KEY = keypair(hex32()).publicHex;
const now = () => Math.floor(Date.now() / 1000);

function writeFile(name, text) {
  const f = path.join(TMP, name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
}
const SEED_FILE = writeFile('kernel.seed', KERNEL_SEED + '\n');
const TOKEN_FILE = writeFile('bearer', BEARER + '\n');

// ---- the sidecar process ---------------------------------------------------------------

// Start `chio serve` with @args after the store and seed; resolves once it
// printed its listening line.
function startSidecar(db, args = [], { listen = '127.0.0.1:0' } = {}) {
  const argv = ['serve', '--receipt-db', db, '--seed-file', SEED_FILE, ...args];
  if (listen) argv.push('--listen', listen);
  const p = spawn(CLI, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((res) => p.on('exit', (code, sig) => res(code ?? 128 + os.constants.signals[sig])));
  cleanups.push(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chio serve did not start in 15 s: ${err}`)), 15000);
    exited.then((code) => { clearTimeout(timer); reject(new Error(`chio serve exited ${code}: ${err}`)); });
    p.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const line = JSON.parse(out.slice(0, nl));
      const port = Number(line.listening.split(':').pop());
      resolve({
        line, port, db,
        stderr: () => err,
        async stop() {
          p.kill('SIGTERM');
          return await exited;
        },
      });
    });
  });
}

// ---- HTTP ------------------------------------------------------------------------------

// One request on its own connection; resolves {status, headers, text, json}.
function request(port, method, urlPath, { headers = {}, body, raw } = {}) {
  return new Promise((resolve, reject) => {
    const data = raw !== undefined ? raw : body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { ...headers };
    if (data !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
    if (data !== undefined) h['content-length'] = String(data.length);
    const rq = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    rq.on('error', reject);
    if (data !== undefined) rq.write(data);
    rq.end();
  });
}

const auth = { authorization: `Bearer ${BEARER}` };
const post = (sc, p, body, headers = auth) => request(sc.port, 'POST', p, { headers, body });

// ---- tokens and receipts, checked here -------------------------------------------------

function token(grants, { id = `cap-${crypto.randomUUID()}`, seed = KERNEL_SEED, issued = now() - 60, expires = now() + 3600, chain } = {}) {
  const t = { id, issuer: '', subject: AGENT_KEY, scope: { grants }, issued_at: issued, expires_at: expires };
  if (chain) t.delegation_chain = chain;
  return signToken(t, seed);
}
const grant = (more = {}) => ({ server_id: 'files', tool_name: 'read', operations: ['invoke'], ...more });
const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

// Verify a receipt (parsed with number tokens kept) the way wire-format.md
// section 3 says: semantic rules, id, signature over {"body","id"}, the
// parameter_hash, and the signer. Returns the plain JS receipt.
function checkReceipt(parsed, trustedKey = KERNEL_KEY) {
  assert.equal(parsed.t, 'obj', 'the receipt is an object');
  const m = parsed.v;
  const g = (k) => (m.has(k) ? m.get(k).v : undefined);
  assert.equal(g('receipt_kind'), 'mediated_decision');
  assert.equal(g('boundary_class'), 'prevent');
  assert.equal(g('trust_level'), 'mediated');
  assert.ok(m.has('decision') && !m.has('observation_outcome'));
  const body = new Map(m);
  body.delete('id');
  body.delete('signature');
  const idIn = { t: 'obj', v: body };
  assert.equal(g('id'), sha256Hex(canonicalBytes(idIn)), 'receipt id = sha256(canonical(body))');
  const msg = canonicalBytes({ t: 'obj', v: new Map([['body', idIn], ['id', { t: 'str', v: g('id') }]]) });
  assert.ok(verifySig(g('kernel_key'), msg, g('signature')), 'Ed25519 signature over {"body","id"}');
  const action = m.get('action').v;
  assert.equal(action.get('parameter_hash').v, sha256Hex(canonicalBytes(action.get('parameters'))));
  assert.equal(g('kernel_key'), trustedKey, 'signed by the sidecar key');
  return JSON.parse(canonicalBytes(parsed).toString('utf8'));
}

// Every receipt a client was handed, by id: compared with the store at the end.
const handed = new Map();

// POST /v1/evaluate; asserts the decision answer: 200, JSON, the verdict
// and code, a receipt that verifies and matches the call.
async function evaluate(sc, body, { verdict, code, headers = auth }) {
  const r = await post(sc, '/v1/evaluate', body, headers);
  assert.equal(r.status, 200, `evaluate ${code}: ${r.text}`);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.json.verdict, verdict, r.text);
  assert.equal(r.json.code, code, r.text);
  const rc = checkReceipt(parse(r.text).v.get('receipt'));
  assert.equal(rc.tool_server, body.tool_server);
  assert.equal(rc.tool_name, body.tool_name);
  assert.equal(rc.decision.verdict, verdict);
  assert.deepEqual(rc.action.parameters, body.parameters === undefined ? {} : body.parameters);
  if (verdict === 'allow') assert.equal(rc.content_hash, sha256Hex(Buffer.from('null')));
  handed.set(rc.id, { db: sc.db, verdict });
  return { r, receipt: rc };
}

function storedIds(db) {
  const p = spawnSync(CLI, ['receipt', 'list', '--receipt-db', db, '--format', 'jsonl', '--limit', '0'], { timeout: 30000, maxBuffer: 256 << 20 });
  assert.equal(p.status, 0, p.stderr.toString());
  return p.stdout.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function assertJsonError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/, r.text);
  assert.equal(r.json?.code, code, r.text);
  assert.equal(typeof r.json.message, 'string');
}

// ---- one sidecar with a bearer token for most checks -----------------------------------

const DB = path.join(TMP, 'db');
let sc;
test('start the sidecar with a real store, seed and bearer token', async () => {
  sc = await startSidecar(DB, ['--token-file', TOKEN_FILE, '--max-body', '65536']);
  assert.equal(sc.line.kernel_key, KERNEL_KEY, 'the key of the seed file');
  assert.match(sc.line.listening, /^127\.0\.0\.1:\d+$/);
});

const ROUTES = [
  ['GET', '/chio/live'], ['GET', '/chio/health'], ['GET', '/metrics'],
  ['POST', '/v1/evaluate'], ['POST', '/v1/receipts/verify'],
  ['POST', '/v1/capabilities/mint'], ['POST', '/v1/capabilities/revoke'],
];

test('a wrong method is 405 with an Allow header; an unknown path is 404', async () => {
  for (const [method, p] of ROUTES) {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      if (m === method) continue;
      const r = await request(sc.port, m, p, { headers: auth });
      assert.equal(r.status, 405, `${m} ${p}`);
      assert.equal(r.headers.allow, method, `${m} ${p}: Allow names the route's method`);
      if (m !== 'HEAD') assertJsonError(r, 405, 'method_not_allowed');
    }
  }
  for (const p of ['/', '/v1', '/v1/evaluate/', '/V1/evaluate', '/v1/%65valuate', '/chio/healthz', '/v1/receipts']) {
    assertJsonError(await request(sc.port, 'GET', p), 404, 'not_found');
    assertJsonError(await request(sc.port, 'POST', p, { headers: auth, body: {} }), 404, 'not_found');
  }
  // A query string does not change the route.
  assert.equal((await request(sc.port, 'GET', '/chio/live?x=1')).status, 200);
});

test('GET /chio/live and /chio/health answer 200 with JSON, no token needed', async () => {
  const live = await request(sc.port, 'GET', '/chio/live');
  assert.equal(live.status, 200);
  assert.match(live.headers['content-type'], /^application\/json/);
  const h = await request(sc.port, 'GET', '/chio/health');
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.json, { kernel_key: KERNEL_KEY, status: 'ok' });
});

test('bearer token: evaluate, mint and revoke need it (401), the rest stays open', async () => {
  const body = { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: {} };
  for (const p of ['/v1/evaluate', '/v1/capabilities/mint', '/v1/capabilities/revoke']) {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Basic ${BEARER}` },
      { authorization: `Bearer ${BEARER}x` }, { authorization: BEARER }]) {
      const r = await post(sc, p, body, headers);
      assertJsonError(r, 401, 'unauthorized');
      assert.match(r.headers['www-authenticate'] ?? '', /^Bearer\b/, `${p}: a 401 names its scheme`);
    }
  }
  // RFC 9110: the scheme in any case.
  await evaluate(sc, body, { verdict: 'allow', code: 'none', headers: { authorization: `bearer   ${BEARER}` } });
  assert.equal((await request(sc.port, 'GET', '/metrics')).status, 200);
});

test('an Origin header (a browser) is 403 before any route runs', async () => {
  const body = { capability: token([grant()]), tool_server: 'files', tool_name: 'read' };
  assertJsonError(await post(sc, '/v1/evaluate', body, { ...auth, origin: 'http://evil.example' }), 403, 'forbidden');
});

test('a Host that is no loopback name is 403 before any route runs (DNS rebinding)', async () => {
  // A rebound page is same-origin: its GETs carry no Origin, only its own
  // host in Host. Refused from the headers: no answer of the kernel, and no
  // receipt for the POST (the count at the end holds one per decision).
  const body = { capability: token([grant()]), tool_server: 'files', tool_name: 'read' };
  for (const host of [`rebound.example:${sc.port}`, 'rebound.example', `127.0.0.1.rebound.example:${sc.port}`]) {
    for (const p of ['/metrics', '/chio/health']) {
      const r = await request(sc.port, 'GET', p, { headers: { host } });
      assertJsonError(r, 403, 'forbidden');
      assert.doesNotMatch(r.text, /kernel_key|chio_/, r.text);
    }
    assertJsonError(await post(sc, '/v1/evaluate', body, { ...auth, host }), 403, 'forbidden');
  }
  for (const host of [`localhost:${sc.port}`, `127.0.0.1:${sc.port}`, `[::1]:${sc.port}`, 'LOCALHOST']) {
    const r = await request(sc.port, 'GET', '/chio/health', { headers: { host } });
    assert.equal(r.status, 200, `${host}: ${r.text}`);
    assert.equal(r.json.kernel_key, KERNEL_KEY);
  }
});

test('malformed bodies are 400 with a code and nothing is signed', async () => {
  const good = { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: { a: 1 } };
  const cases = [
    ['not JSON', 'hello', 'invalid_json'],
    ['truncated', '{"tool_server":"files"', 'invalid_json'],
    ['trailing data', JSON.stringify(good) + 'x', 'invalid_json'],
    ['duplicate key', '{"tool_server":"a","tool_server":"b","tool_name":"x","capability_id":"c"}', 'invalid_json'],
    ['empty body', '', 'invalid_request'],
    ['an array', '[]', 'invalid_request'],
    ['tool_name missing', { ...good, tool_name: undefined }, 'invalid_request'],
    ['tool_server a number', { ...good, tool_server: 7 }, 'invalid_request'],
    ['parameter_hash a number', { ...good, parameter_hash: 5 }, 'invalid_request'],
    ['an unknown member', { ...good, paramaters: { a: 1 } }, 'invalid_request'],
    ['no token at all', { tool_server: 'files', tool_name: 'read' }, 'invalid_request'],
    ['capability not an object', { ...good, capability: 'x' }, 'invalid_request'],
    ['capability not a token', { ...good, capability: { id: 'x' } }, 'invalid_capability'],
    ['parameter_hash null', { ...good, parameter_hash: null }, 'invalid_request'],
    ['a NUL in parameters', { ...good, parameters: { a: 'x\u0000y' } }, 'invalid_arguments'],
  ];
  for (const [what, body, code] of cases) {
    const r = await request(sc.port, 'POST', '/v1/evaluate', { headers: auth, body });
    assert.equal(r.json?.receipt, undefined, what);
    assertJsonError(r, 400, code);
  }
  const rawCases = [
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"tool_server":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","tool_name":"x","capability_id":"c"}')])],
    ['a lone surrogate', Buffer.from('{"tool_server":"\\ud800","tool_name":"x","capability_id":"c"}')],
    ['129 levels', Buffer.from('{"tool_server":"a","tool_name":"b","capability_id":"c","parameters":{"p":' + '['.repeat(128) + ']'.repeat(128) + '}}')],
    ['a number past the double range', Buffer.from('{"tool_server":"a","tool_name":"b","capability_id":"c","parameters":{"p":1e999}}')],
  ];
  for (const [what, raw] of rawCases) {
    const r = await request(sc.port, 'POST', '/v1/evaluate', { headers: auth, raw });
    assert.equal(r.json?.receipt, undefined, what);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assertJsonError(r, 400, 'invalid_json');
  }
});

// Review 31: any JSON value is the call's arguments, as the library reads
// its arguments text (they were a 400 with no receipt).
test('parameters that are not an object are decided as the library decides them', async () => {
  for (const parameters of [[1], null, 'x', 5]) {
    const body = { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters };
    const { receipt } = await evaluate(sc, body, { verdict: 'allow', code: 'none' });
    assert.deepEqual(receipt.action.parameters, parameters);
    assert.equal(receipt.action.parameter_hash, sha256Hex(canonicalJs(parameters)));
  }
});

// Review 31: a capability_id other than the token's names a capability the
// token's session does not hold: denied with a receipt (it was a 400).
test('a capability_id other than the token\'s is denied unknown_capability', async () => {
  const body = { capability: token([grant()]), capability_id: 'other', tool_server: 'files', tool_name: 'read' };
  const { receipt } = await evaluate(sc, body, { verdict: 'deny', code: 'unknown_capability' });
  assert.equal(receipt.capability_id, 'other');
});

test('a body past --max-body is 413 body_too_large', async () => {
  const big = { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: { pad: 'x'.repeat(70000) } };
  assertJsonError(await post(sc, '/v1/evaluate', big), 413, 'body_too_large');
  assertJsonError(await post(sc, '/v1/receipts/verify', 'x'.repeat(70000)), 413, 'body_too_large');
});

test('the request Content-Type is not read: any type, or none, is evaluated as JSON', async () => {
  const body = { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: {} };
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded']) {
    await evaluate(sc, body, { verdict: 'allow', code: 'none', headers: { ...auth, 'content-type': ct } });
  }
});

test('the token three ways: inline, X-Chio-Capability with capability_id, minted id', async () => {
  const params = { path: '/srv/a.txt', n: 3 };
  const call = { tool_server: 'files', tool_name: 'read', parameters: params };
  const inline = token([grant()]);
  const { receipt } = await evaluate(sc, { ...call, capability: inline, parameter_hash: sha256Hex(canonicalJs(params)) }, { verdict: 'allow', code: 'none' });
  assert.equal(receipt.capability_id, inline.id);
  assert.equal(receipt.action.parameter_hash, sha256Hex(canonicalJs(params)));
  const phEvidence = (rc) => rc.evidence.find((e) => e.guard_name === 'parameter_hash');
  assert.deepEqual(phEvidence(receipt), { guard_name: 'parameter_hash', verdict: true, details: 'parameter_hash matches the parameters' });
  const { receipt: nohash } = await evaluate(sc, { ...call, capability: inline }, { verdict: 'allow', code: 'none' });
  assert.match(phEvidence(nohash).details, /^no parameter_hash was sent/, 'a pass without a hash says nothing was compared');

  const hdr = token([grant()]);
  const r2 = await evaluate(sc, { ...call, capability_id: hdr.id, parameter_hash: sha256Hex(canonicalJs(params)).toUpperCase() },
    { verdict: 'allow', code: 'none', headers: { ...auth, 'x-chio-capability': b64url(hdr) } });
  assert.equal(r2.receipt.capability_id, hdr.id);

  const minted = await post(sc, '/v1/capabilities/mint', { subject: AGENT_KEY, scope: { grants: [grant()] }, ttl_secs: 60 });
  assert.equal(minted.status, 200, minted.text);
  assert.match(minted.json.capability_id, /^cap-[0-9a-f]{32}$/);
  assert.equal(minted.json.capability.issuer, KERNEL_KEY);
  const r3 = await evaluate(sc, { ...call, capability_id: minted.json.capability_id }, { verdict: 'allow', code: 'none' });
  assert.equal(r3.receipt.capability_id, minted.json.capability_id);
  // The minted token is a real token: it works inline too.
  await evaluate(sc, { ...call, capability: minted.json.capability }, { verdict: 'allow', code: 'none' });
  // Minted with an id and the default ttl (3600 s); request_id reaches the receipt.
  const named = await post(sc, '/v1/capabilities/mint', { subject: AGENT_KEY, scope: { grants: [grant()] }, id: 'cap-named' });
  assert.equal(named.json.capability_id, 'cap-named');
  assert.equal(named.json.capability.expires_at - named.json.capability.issued_at, 3600);
  const r4 = await evaluate(sc, { ...call, capability_id: 'cap-named', request_id: 'req-42' }, { verdict: 'allow', code: 'none' });
  assert.equal(r4.receipt.metadata.receipt_context.request_id, 'req-42');
});

test('numbers in parameters follow canonical JSON: exact 64-bit integers, doubles otherwise', async () => {
  const paramsText = '{"big":9007199254740993,"max":18446744073709551615,"neg":-9223372036854775808,"one":1.0,"e":1e21,"small":1E-7}';
  const canon = canonicalBytes(parse(paramsText));
  assert.equal(canon.toString(), '{"big":9007199254740993,"e":1e+21,"max":18446744073709551615,"neg":-9223372036854775808,"one":1,"small":1e-7}');
  const t = token([grant()]);
  const raw = `{"capability":${JSON.stringify(t)},"tool_server":"files","tool_name":"read","parameters":${paramsText},"parameter_hash":"${sha256Hex(canon)}"}`;
  const r = await request(sc.port, 'POST', '/v1/evaluate', { headers: auth, raw: Buffer.from(raw) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.verdict, 'allow', r.text);
  const receipt = parse(r.text).v.get('receipt');
  const rc = checkReceipt(receipt);
  handed.set(rc.id, { db: sc.db, verdict: 'allow' });
  assert.equal(canonicalBytes(receipt.v.get('action').v.get('parameters')).toString(), canon.toString());
});

test('X-Chio-Capability: malformed base64url, not a token, another id', async () => {
  const t = token([grant()]);
  const call = { tool_server: 'files', tool_name: 'read', capability_id: t.id };
  assertJsonError(await post(sc, '/v1/evaluate', call, { ...auth, 'x-chio-capability': '***' }), 400, 'invalid_request');
  assertJsonError(await post(sc, '/v1/evaluate', call, { ...auth, 'x-chio-capability': b64url({ id: t.id }) }), 400, 'invalid_capability');
  // Under another id: the token's session holds no such capability (review 31: was a 400).
  await evaluate(sc, { ...call, capability_id: 'cap-other' }, { verdict: 'deny', code: 'unknown_capability', headers: { ...auth, 'x-chio-capability': b64url(t) } });
  // The header alone, without the token's id in the body: chio's form needs both.
  const alone = await post(sc, '/v1/evaluate', { tool_server: 'files', tool_name: 'read' }, { ...auth, 'x-chio-capability': b64url(t) });
  assertJsonError(alone, 400, 'invalid_request');
  assert.match(alone.json.message, /capability_id/);
});

test('the token given two ways at once (inline and in the header) is refused', async () => {
  const a = token([grant()]);
  const b = token([grant({ tool_name: 'write' })]);
  const r = await post(sc, '/v1/evaluate', { capability: a, tool_server: 'files', tool_name: 'read' }, { ...auth, 'x-chio-capability': b64url(b) });
  assertJsonError(r, 400, 'invalid_request');
});

test('every pipeline denial is 200 with a signed deny receipt naming its code', async () => {
  const call = { tool_server: 'files', tool_name: 'read', parameters: { path: '/srv/a' } };
  const deny = (body, code) => evaluate(sc, { ...call, ...body }, { verdict: 'deny', code });
  const other = hex32();

  const forged = token([grant()]);
  forged.signature = forged.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  await deny({ capability: forged }, 'invalid_signature');
  await deny({ capability: token([grant()], { seed: other }) }, 'untrusted_issuer');
  await deny({ capability: token([grant()], { issued: now() - 7200, expires: now() - 3600 }) }, 'capability_expired');
  await deny({ capability: token([grant()], { issued: now() + 3600, expires: now() + 7200 }) }, 'capability_not_yet_valid');

  const link = (i) => ({ capability_id: `parent-${i}`, delegator: KERNEL_KEY, delegatee: AGENT_KEY, timestamp: now() - 100, signature: '0'.repeat(128) });
  await deny({ capability: token([grant()], { chain: [link(0)] }) }, 'delegation_invalid');
  await deny({ capability: token([grant()], { chain: [0, 1, 2, 3, 4].map(link) }) }, 'delegation_depth_exceeded');

  await deny({ capability: token([grant({ tool_name: 'write' })]) }, 'out_of_scope');
  await deny({ capability: token([grant({ operations: ['read'] })]) }, 'out_of_scope');
  await deny({ capability: token([grant({ constraints: [{ type: 'path_prefix', value: '/home/' }] })]) }, 'constraint_violated');

  const once = token([grant({ max_invocations: 1 })]);
  await evaluate(sc, { ...call, capability: once }, { verdict: 'allow', code: 'none' });
  await deny({ capability: once }, 'budget_exhausted');

  const { receipt } = await deny({ capability: token([grant()]), parameter_hash: sha256Hex(Buffer.from('{}')) }, 'guard_denied');
  assert.equal(receipt.decision.guard, 'parameter_hash');
  await deny({ capability: token([grant()]), parameter_hash: 'not-a-hash' }, 'guard_denied');

  await deny({ capability_id: 'cap-nobody-minted-this' }, 'unknown_capability');
});

// Revoked in the test below, checked again after a restart.
let revokedInline;
let revokedMinted;
test('revocation through the control route: 401 without the token, then capability_revoked', async () => {
  const call = { tool_server: 'files', tool_name: 'read', parameters: {} };
  const minted = (await post(sc, '/v1/capabilities/mint', { subject: AGENT_KEY, scope: { grants: [grant()] } })).json;
  const inline = token([grant()]);
  revokedInline = inline;
  revokedMinted = minted;
  await evaluate(sc, { ...call, capability: inline }, { verdict: 'allow', code: 'none' });
  for (const id of [minted.capability_id, inline.id]) {
    assertJsonError(await post(sc, '/v1/capabilities/revoke', { capability_id: id }, {}), 401, 'unauthorized');
  }
  await evaluate(sc, { ...call, capability_id: minted.capability_id }, { verdict: 'allow', code: 'none' });
  for (const id of [minted.capability_id, inline.id]) {
    const r = await post(sc, '/v1/capabilities/revoke', { capability_id: id });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { capability_id: id, revoked: true });
  }
  await evaluate(sc, { ...call, capability_id: minted.capability_id }, { verdict: 'deny', code: 'capability_revoked' });
  await evaluate(sc, { ...call, capability: inline }, { verdict: 'deny', code: 'capability_revoked' });
  // A token delegated from a revoked one (its chain names the id) is denied
  // too, before its chain is even checked.
  const child = token([grant()], { chain: [{ capability_id: inline.id, delegator: KERNEL_KEY, delegatee: AGENT_KEY, timestamp: now() - 10, signature: '0'.repeat(128) }] });
  await evaluate(sc, { ...call, capability: child }, { verdict: 'deny', code: 'capability_revoked' });
  for (const bad of [{}, { capability_id: '' }, { capability_id: 'x'.repeat(257) }, { capability_id: 'a', more: 1 }]) {
    assertJsonError(await post(sc, '/v1/capabilities/revoke', bad), 400, 'invalid_request');
  }
});

test('mint: bad bodies are 400', async () => {
  for (const bad of [{}, { subject: AGENT_KEY }, { subject: AGENT_KEY, scope: {}, ttl_secs: 0 },
    { subject: AGENT_KEY, scope: {}, ttl_secs: -1 }, { subject: AGENT_KEY, scope: {}, id: '' },
    { subject: AGENT_KEY, scope: {}, extra: 1 }, { subject: 'not-a-key', scope: {} },
    { subject: AGENT_KEY, scope: { grants: 'x' } }, { subject: AGENT_KEY, scope: {}, ttl_secs: 1.5 },
    { subject: AGENT_KEY, scope: {}, ttl_secs: '60' }, { subject: AGENT_KEY, scope: {}, id: 'x'.repeat(257) }]) {
    assertJsonError(await post(sc, '/v1/capabilities/mint', bad), 400, 'invalid_request');
  }
});

test('POST /v1/receipts/verify: good, tampered, untrusted, not a receipt', async () => {
  const { r } = await evaluate(sc, { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: { q: 'x' } }, { verdict: 'allow', code: 'none' });
  const receiptText = canonicalBytes(parse(r.text).v.get('receipt')).toString('utf8');
  const good = await request(sc.port, 'POST', '/v1/receipts/verify', { body: receiptText });
  assert.equal(good.status, 200, good.text);
  assert.equal(good.json.ok, true);
  assert.equal(good.json.signature_valid, true);
  assert.equal(good.json.signer_trusted, true);
  assert.equal(good.json.result, 'Authorized');

  // Any key order and white space: the report reads the receipt, not its bytes.
  const pretty = await request(sc.port, 'POST', '/v1/receipts/verify', { body: JSON.stringify(JSON.parse(receiptText), null, 2) });
  assert.equal(pretty.json.ok, true, pretty.text);

  const { r: dr } = await evaluate(sc, { capability: token([grant({ tool_name: 'write' })]), tool_server: 'files', tool_name: 'read' }, { verdict: 'deny', code: 'out_of_scope' });
  const denied = await request(sc.port, 'POST', '/v1/receipts/verify', { raw: canonicalBytes(parse(dr.text).v.get('receipt')) });
  assert.equal(denied.json.ok, true, denied.text);
  assert.equal(denied.json.authorized, false);
  assert.equal(denied.json.result, 'Denied');

  const tampered = JSON.parse(receiptText);
  tampered.tool_name = 'write';
  const t = await request(sc.port, 'POST', '/v1/receipts/verify', { body: tampered });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.ok, false);
  assert.equal(t.json.receipt_id_valid, false);

  const params = JSON.parse(receiptText);
  params.action.parameters = { q: 'y' };
  const p = await request(sc.port, 'POST', '/v1/receipts/verify', { body: params });
  assert.equal(p.json.ok, false);
  assert.equal(p.json.parameter_hash_valid, false);

  const body = JSON.parse(receiptText);
  delete body.id;
  delete body.signature;
  const foreign = JSON.parse(canonicalBytes(signReceipt(body, hex32())).toString('utf8'));
  const u = await request(sc.port, 'POST', '/v1/receipts/verify', { body: foreign });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json.signature_valid, true);
  assert.equal(u.json.signer_trusted, false);
  assert.equal(u.json.ok, false);
  assert.equal(u.json.result, 'Untrusted');

  assertJsonError(await request(sc.port, 'POST', '/v1/receipts/verify', { body: { hello: 1 } }), 400, 'invalid_receipt');
  assertJsonError(await request(sc.port, 'POST', '/v1/receipts/verify', { body: 'nope' }), 400, 'invalid_json');
});

test('--tool narrows the sidecar: another tool is denied tool_not_registered', async () => {
  const db = path.join(TMP, 'db-tools');
  const s2 = await startSidecar(db, ['--tool', 'files:read', '--drain-grace-ms', '4000']);
  try {
    const call = { capability: token([grant({ tool_name: '*' })]), tool_server: 'files', parameters: {} };
    await evaluate(s2, { ...call, tool_name: 'read' }, { verdict: 'allow', code: 'none', headers: {} });
    await evaluate(s2, { ...call, tool_name: 'write' }, { verdict: 'deny', code: 'tool_not_registered', headers: {} });
    // Without --token-file the control routes are off (403), evaluate is open.
    assertJsonError(await post(s2, '/v1/capabilities/mint', { subject: AGENT_KEY, scope: {} }, {}), 403, 'forbidden');
    assertJsonError(await post(s2, '/v1/capabilities/revoke', { capability_id: 'x' }, auth), 403, 'forbidden');
    // SIGTERM: health and evaluate answer 503 draining for --drain-grace-ms, then it exits 0.
    const exited = s2.stop();
    let h;
    for (const end = Date.now() + 4000; Date.now() < end;) {
      h = await request(s2.port, 'GET', '/chio/health');
      if (h.status === 503) break;
    }
    assert.equal(h.status, 503, h.text);
    assert.equal(h.json.status, 'draining');
    assertJsonError(await post(s2, '/v1/evaluate', { ...call, tool_name: 'read' }, {}), 503, 'draining');
    assert.equal(await exited, 0);
  } catch (e) {
    await s2.stop();
    throw e;
  }
});

test('HTTP framing a client may choose: chunked bodies, kept-alive connections', async () => {
  const body = JSON.stringify({ capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: {} });
  // No Content-Length: node:http sends the body chunked, in two pieces.
  const chunked = await new Promise((resolve, reject) => {
    const rq = http.request({ host: '127.0.0.1', port: sc.port, method: 'POST', path: '/v1/evaluate', headers: { ...auth }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    rq.on('error', reject);
    rq.write(body.slice(0, 10));
    rq.end(body.slice(10));
  });
  assert.equal(chunked.status, 200, chunked.text);
  handed.set(checkReceipt(parse(chunked.text).v.get('receipt')).id, { db: sc.db, verdict: 'allow' });
  // One kept-alive connection for many calls.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  for (let i = 0; i < 20; i++) {
    const r = await new Promise((resolve, reject) => {
      const rq = http.request({ host: '127.0.0.1', port: sc.port, method: 'GET', path: i % 2 ? '/chio/live' : '/chio/health', agent }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      rq.on('error', reject);
      rq.end();
    });
    assert.equal(r, 200);
  }
  assert.equal(sockets.size, 1, 'the connection was kept');
  agent.destroy();
});

test('64 calls at once: each answered with its own committed receipt', async () => {
  const once = token([grant({ max_invocations: 40 })]);
  const calls = Array.from({ length: 64 }, (_, i) => post(sc, '/v1/evaluate', { capability: once, tool_server: 'files', tool_name: 'read', parameters: { i } }));
  const answers = await Promise.all(calls);
  const verdicts = { allow: 0, deny: 0 };
  for (const r of answers) {
    assert.equal(r.status, 200, r.text);
    const rc = checkReceipt(parse(r.text).v.get('receipt'));
    assert.ok(!handed.has(rc.id), 'every receipt is its own');
    handed.set(rc.id, { db: sc.db, verdict: rc.decision.verdict });
    verdicts[rc.decision.verdict]++;
    if (rc.decision.verdict === 'deny') assert.equal(r.json.code, 'budget_exhausted');
  }
  assert.deepEqual(verdicts, { allow: 40, deny: 24 }, 'max_invocations is exact under concurrency');
});

test('after SIGTERM (exit 0) the store holds every receipt a client was handed', async () => {
  assert.equal(await sc.stop(), 0, sc.stderr());
  // Restarted on the same store: revocations are kept (they are in the
  // receipt log), minted ids are not (the client holds the token itself).
  const again = await startSidecar(DB, ['--token-file', TOKEN_FILE]);
  const call = { tool_server: 'files', tool_name: 'read', parameters: {} };
  await evaluate(again, { ...call, capability: revokedInline }, { verdict: 'deny', code: 'capability_revoked' });
  await evaluate(again, { ...call, capability: revokedMinted.capability }, { verdict: 'deny', code: 'capability_revoked' });
  await evaluate(again, { ...call, capability_id: revokedMinted.capability_id }, { verdict: 'deny', code: 'unknown_capability' });
  assert.equal(await again.stop(), 0);
  for (const db of new Set([...handed.values()].map((h) => h.db))) {
    const stored = new Map(storedIds(db).map((r) => [r.id, r]));
    const mine = [...handed].filter(([, h]) => h.db === db);
    for (const [id, h] of mine) {
      assert.ok(stored.has(id), `receipt ${id} (${h.verdict}) was answered but is not in ${db}`);
      assert.equal(stored.get(id).decision.verdict, h.verdict);
    }
    assert.equal(stored.size, mine.length, `${db}: one receipt per decision, no more`);
  }
});

// ---- the default listen address ----------------------------------------------------------

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('without --listen the sidecar listens on 127.0.0.1:9090', async (t) => {
  if (!(await portFree(9090))) return t.skip('port 9090 is in use here');
  const s3 = await startSidecar(path.join(TMP, 'db-default'), [], { listen: null });
  try {
    assert.equal(s3.line.listening, '127.0.0.1:9090');
    assert.equal((await request(9090, 'GET', '/chio/live')).status, 200);
  } finally {
    assert.equal(await s3.stop(), 0);
  }
});

// ---- a store that cannot commit ----------------------------------------------------------

test('a full disk: evaluate and health answer 503, and no allow was answered without its receipt', async (t) => {
  const mnt = path.join(TMP, 'small');
  fs.mkdirSync(mnt);
  if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]).status !== 0) {
    return t.skip('cannot mount a size-limited tmpfs here (needs root)');
  }
  cleanups.push(() => spawnSync('umount', ['-l', mnt]));
  const db = path.join(mnt, 'db');
  const s4 = await startSidecar(db, ['--durability', 'sync', '--token-file', TOKEN_FILE]);
  const allowed = [];
  let last;
  try {
    // Fill what RocksDB left of the 4 MiB.
    const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
    try {
      const block = Buffer.alloc(65536, 0x66);
      for (;;) fs.writeSync(fd, block);
    } catch (e) {
      assert.equal(e.code, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    const body = { capability: token([grant()]), tool_server: 'files', tool_name: 'read', parameters: { pad: 'p'.repeat(4000) } };
    for (let i = 0; i < 5000; i++) {
      last = await post(s4, '/v1/evaluate', body);
      if (last.status !== 200) break;
      assert.equal(last.json.verdict, 'allow');
      allowed.push(checkReceipt(parse(last.text).v.get('receipt')).id);
    }
    assertJsonError(last, 503, 'store_failure');
    const h = await request(s4.port, 'GET', '/chio/health');
    assert.equal(h.status, 503, h.text);
    assert.equal(h.json.status, 'failed');
    assert.equal((await request(s4.port, 'GET', '/chio/live')).status, 200, 'live while failed');
    const again = await post(s4, '/v1/evaluate', body);
    assert.equal(again.status, 503, 'fails closed: no allow after a failed commit');
    assert.equal(again.json.code, 'store_failure', again.text);
    // A revocation is persisted in the log: it cannot be confirmed now.
    const rv = await post(s4, '/v1/capabilities/revoke', { capability_id: body.capability.id });
    assert.equal(rv.status, 503, rv.text);
  } finally {
    assert.equal(await s4.stop(), 1, 'a sidecar that failed closed exits 1 (docs/cli.md)');
  }
  fs.unlinkSync(path.join(mnt, 'filler'));
  const stored = new Set(storedIds(db).map((r) => r.id));
  for (const id of allowed) assert.ok(stored.has(id), `allow ${id} was answered but not persisted`);
});
