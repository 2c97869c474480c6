// canon.mjs: canonical JSON (chio's RFC 8785 variant, wire-format.md 1),
// hashing and Ed25519 keys (2) for the independent implementation in
// chio-wire.mjs. Where the spec is silent a comment starting SPEC-SILENT says
// what was decided.

import crypto from 'node:crypto';

// ---------------------------------------------------------------------------
// JSON parsing that keeps number tokens.
//
// A parsed value is one of:
//   {t:'null'} {t:'bool', v} {t:'str', v} {t:'arr', v:[...]}
//   {t:'obj', v: Map(key -> value)}
//   {t:'num', kind:'int'|'uint'|'double', text, big?, dbl?}
// ---------------------------------------------------------------------------

export class WireError extends Error {
  constructor(code, msg) {
    super(`${code}: ${msg}`);
    this.code = code;
  }
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

// SPEC-SILENT: nesting depth. serde_json (the Rust reference's parser) stops
// at 128 levels; we use the same bound and reject deeper documents.
export const MAX_DEPTH = 128;

// Decode bytes as strict UTF-8 (overlongs, surrogates, > U+10FFFF rejected).
// SPEC-SILENT: invalid UTF-8 input. RFC 8785 requires I-JSON (RFC 7493),
// which requires valid UTF-8, so it is rejected.
function decodeUtf8(bytes) {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new WireError('utf8', 'input is not valid UTF-8');
  }
}

const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class Parser {
  constructor(text, opts) {
    this.s = text;
    this.i = 0;
    this.opts = opts;
  }

  fail(msg) {
    throw new WireError('syntax', `${msg} at offset ${this.i}`);
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  value(depth) {
    this.ws();
    const c = this.s[this.i];
    if ((c === '{' || c === '[') && depth >= MAX_DEPTH) throw new WireError('depth', `nesting exceeds ${MAX_DEPTH} levels`);
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return { t: 'str', v: this.string() };
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [lit, val] of [['true', { t: 'bool', v: true }],
                              ['false', { t: 'bool', v: false }],
                              ['null', { t: 'null' }]]) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return val;
      }
    }
    this.fail('unexpected character');
  }

  object(depth) {
    this.i++;
    const m = new Map();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { t: 'obj', v: m };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected key');
      const k = this.string();
      // SPEC-SILENT: duplicate keys. I-JSON (which RFC 8785 builds on)
      // forbids them, and accepting one value while a tool server might
      // read the other is a parser differential; so they are rejected.
      if (m.has(k)) {
        if (this.opts.duplicates !== 'last') throw new WireError('duplicate', `duplicate key ${JSON.stringify(k)}`);
        m.delete(k);
      }
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected :');
      this.i++;
      m.set(k, this.value(depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return { t: 'obj', v: m };
      if (c !== ',') { this.i--; this.fail('expected , or }'); }
    }
  }

  array(depth) {
    this.i++;
    const a = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { t: 'arr', v: a };
    }
    for (;;) {
      a.push(this.value(depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return { t: 'arr', v: a };
      if (c !== ',') { this.i--; this.fail('expected , or ]'); }
    }
  }

  string() {
    const s = this.s;
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= s.length) this.fail('unterminated string');
      const c = s.charCodeAt(this.i);
      if (c === 0x22) { this.i++; break; }
      if (c < 0x20) this.fail('raw control character in string');
      if (c !== 0x5c) { out += s[this.i++]; continue; }
      const e = s[this.i + 1];
      this.i += 2;
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) { out += simple[e]; continue; }
      if (e !== 'u') { this.i -= 2; this.fail('bad escape'); }
      out += String.fromCharCode(this.hex4());
    }
    // SPEC-SILENT: lone surrogates (only reachable through \u escapes, since
    // the input is strict UTF-8). I-JSON forbids them and they have no UTF-8
    // form to write back out; rejected.
    if (!out.isWellFormed()) throw new WireError('surrogate', 'lone surrogate in string');
    return out;
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
    this.i += 4;
    return parseInt(h, 16);
  }

  number() {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail('bad number');
    const text = m[0];
    this.i += text.length;
    return classifyNumber(text);
  }
}

// Spec 1: a token without . e E that fits int64 is an exact integer, else if
// it fits uint64 an exact unsigned integer; everything else is a double.
export function classifyNumber(text) {
  if (!/[.eE]/.test(text)) {
    const b = BigInt(text);
    if (b >= I64_MIN && b <= I64_MAX) return { t: 'num', kind: 'int', text, big: b };
    if (b >= 0n && b <= U64_MAX) return { t: 'num', kind: 'uint', text, big: b };
  }
  const d = Number(text);
  if (!Number.isFinite(d)) throw new WireError('number', `number ${text} is not finite as a double`);
  return { t: 'num', kind: 'double', text, dbl: d };
}

// Parse JSON text (string or bytes). opts.duplicates: 'reject' (default) or 'last'.
export function parse(input, opts = {}) {
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  if (typeof input === 'string' && !text.isWellFormed()) throw new WireError('utf8', 'input is not valid Unicode');
  const p = new Parser(text, opts);
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('trailing data');
  return v;
}

// ---------------------------------------------------------------------------
// Canonical output
// ---------------------------------------------------------------------------

function numberText(n) {
  if (n.kind !== 'double') return n.big.toString(); // -0 -> "0" via BigInt
  if (n.dbl === 0) return '0';
  // ECMAScript Number::toString is exactly the rule in spec 1 (shortest
  // round-trip digits, plain in [1e-6, 1e21), exponent form with sign outside).
  return String(n.dbl);
}

export function escapeString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

// Compare by UTF-16 code units; JS strings are UTF-16, and < compares units.
function utf16Cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function canonicalText(v) {
  switch (v.t) {
    case 'null': return 'null';
    case 'bool': return v.v ? 'true' : 'false';
    case 'num': return numberText(v);
    case 'str': return escapeString(v.v);
    case 'arr': return '[' + v.v.map(canonicalText).join(',') + ']';
    case 'obj': {
      const keys = [...v.v.keys()].sort(utf16Cmp);
      return '{' + keys.map((k) => escapeString(k) + ':' + canonicalText(v.v.get(k))).join(',') + '}';
    }
  }
  throw new Error(`not a parsed value: ${JSON.stringify(v)}`);
}

export function canonicalBytes(v) {
  return Buffer.from(canonicalText(v), 'utf8');
}

// Text (or bytes) in, canonical bytes out; throws WireError on rejected input.
export function canonicalize(input, opts) {
  return canonicalBytes(parse(input, opts));
}

// Plain JS values -> parsed values. Integers (Number.isInteger or BigInt)
// become exact integers; other numbers doubles. Lets tests build documents.
export function fromJs(x) {
  if (x === null) return { t: 'null' };
  if (typeof x === 'boolean') return { t: 'bool', v: x };
  if (typeof x === 'string') return { t: 'str', v: x };
  if (typeof x === 'bigint') return classifyNumber(x.toString());
  if (typeof x === 'number') {
    if (Number.isInteger(x) && Number.isSafeInteger(x)) return classifyNumber(String(x === 0 ? 0 : x));
    return classifyNumber(String(x));
  }
  if (Array.isArray(x)) return { t: 'arr', v: x.map(fromJs) };
  if (x && x.t && (x.t === 'num')) return x;
  if (typeof x === 'object') {
    const m = new Map();
    for (const [k, val] of Object.entries(x)) if (val !== undefined) m.set(k, fromJs(val));
    return { t: 'obj', v: m };
  }
  throw new Error(`cannot convert ${typeof x}`);
}

// Parsed values -> plain JS (integers as Number when safe, else BigInt).
export function toJs(v) {
  switch (v.t) {
    case 'null': return null;
    case 'bool': case 'str': return v.v;
    case 'num':
      if (v.kind === 'double') return v.dbl;
      return v.big >= BigInt(Number.MIN_SAFE_INTEGER) && v.big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.big) : v.big;
    case 'arr': return v.v.map(toJs);
    case 'obj': return Object.fromEntries([...v.v].map(([k, x]) => [k, toJs(x)]));
  }
  throw new Error('bad value');
}

export function canonicalJs(x) {
  return canonicalBytes(fromJs(x));
}

export function sha256Hex(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------
// Keys and signatures (spec 2)
// ---------------------------------------------------------------------------

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

// Keypair::from_seed_hex: exactly 64 hex digits, either case, at most one
// leading 0x; no trimming.
export function seedFromHex(s) {
  if (typeof s !== 'string') throw new WireError('seed', 'seed must be a string');
  const h = s.startsWith('0x') ? s.slice(2) : s;
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new WireError('seed', 'seed must be 64 hex digits');
  return Buffer.from(h, 'hex');
}

export function keypair(seedHex) {
  const seed = seedFromHex(seedHex);
  const priv = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const pub = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  return { priv, publicHex: pub.toString('hex') };
}

// Public key on input: 64 hex, either case, optional 0x; returns lowercase
// hex or null when malformed.
export function normPubkey(s) {
  if (typeof s !== 'string') return null;
  const h = s.startsWith('0x') ? s.slice(2) : s;
  return /^[0-9a-fA-F]{64}$/.test(h) ? h.toLowerCase() : null;
}

export function sign(kp, msg) {
  return crypto.sign(null, msg, kp.priv).toString('hex');
}

// SPEC-SILENT: signature hex case on input. Signatures are written
// lowercase; on input either case is read (like public keys), since the
// signature is not part of what is signed. No 0x prefix.
export function verifySig(pubHex, msg, sigHex) {
  const pub = normPubkey(pubHex);
  if (!pub || typeof sigHex !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sigHex)) return false;
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(pub, 'hex')]), format: 'der', type: 'spki' });
    return crypto.verify(null, msg, key, Buffer.from(sigHex, 'hex'));
  } catch {
    return false;
  }
}
