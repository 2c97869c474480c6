// gen.mjs: the seeded generators behind interop.test.mjs: JSON texts with
// tricky numbers, strings and keys, hostile variants of them, and random
// receipt bodies and capability scopes. Same seed, same cases.

// xorshift32: small, deterministic, good enough for test data.
export function rng(seed) {
  let s = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const r = {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (a) => a[Math.floor(next() * a.length)],
    chance: (p) => next() < p,
  };
  return r;
}

// Number tokens that test the classification and the ECMAScript form.
export const TRICKY_NUMBERS = [
  '0', '-0', '-0.0', '0.0', '0e0', '-0e-0', '1', '-1', '1.0', '1e21', '1e20', '1E21', '9.999999999999999e20',
  '1e-6', '1e-7', '0.000001', '0.0000001', '5e-324', '4.9e-324', '2.2250738585072014e-308',
  '1.7976931348623157e308', '0.30000000000000004', '0.1', '0.2', '3.14', '-1.5', '1e-400', '123e-2',
  '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993',
  '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809',
  '18446744073709551615', '18446744073709551616', '123456789012345678901234567890',
  '100000000000000000000', '1000000000000000000000', '1.5e+3', '2.5E-5', '1e+0', '12345678.9',
  '0.1e1', '100e-2', '1e300', '-1e-300', '6.02214076e23', '1.0000000000000002', '4.35', '0.5e-6',
  // halfway cases and long tokens: correct rounding from the whole text
  '2.4703282292062328e-324', '2.4703282292062327e-324', '1.7976931348623158e308', '9'.repeat(308),
  `0.${'0'.repeat(400)}1`, `1.${'0'.repeat(5000)}1`, `1${'0'.repeat(5000)}e-5000`, `0.${'0'.repeat(5000)}1e5010`,
];

// Numbers no double can hold: rejected.
export const OVERFLOW_NUMBERS = ['1E400', '-1e309', '1e999999', '2e308', '-1.8e308', '1.7976931348623159e308',
  '9'.repeat(309), `1${'0'.repeat(400)}`];

function randomNumberToken(r) {
  switch (r.int(6)) {
    case 0: return r.pick(TRICKY_NUMBERS);
    case 1: return String(r.int(2000) - 1000);
    case 2: { // a random integer of 1..25 digits, maybe negative
      let d = String(1 + r.int(9));
      const n = r.int(25);
      for (let i = 0; i < n; i++) d += String(r.int(10));
      return (r.chance(0.3) ? '-' : '') + d;
    }
    case 3: { // mantissa with fraction and exponent
      let m = String(r.int(10));
      if (m !== '0' || r.chance(0.5)) for (let i = r.int(4); i > 0; i--) m += String(r.int(10));
      if (m.length > 1 && m[0] === '0') m = m.slice(1) || '0';
      const frac = r.chance(0.7) ? '.' + String(r.int(1e9)).padStart(r.int(12) + 1, '0') : '';
      const exp = r.chance(0.6) ? r.pick(['e', 'E']) + r.pick(['', '+', '-']) + String(r.int(330)) : '';
      return (r.chance(0.3) ? '-' : '') + m + frac + exp;
    }
    case 4: { // a double written in one of JS's forms
      const x = (r.next() - 0.5) * Math.pow(10, r.int(60) - 30);
      return r.pick([String(x), x.toExponential(r.int(17)), x.toPrecision(1 + r.int(21))]);
    }
    default: return String(r.next() + r.next()); // 0.1+0.2-like sums
  }
}

// Characters chosen to hit every escaping rule and the UTF-16 key order.
const CHAR_CLASSES = [
  () => 'abcxyzABC019 _-./:'.split(''),
  () => ['"', '\\', '/', '\b', '\f', '\n', '\r', '\t'],
  () => Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
  () => Array.from({ length: 33 }, (_, i) => String.fromCharCode(0x7f + i)),
  () => ['\u00a0', '\u00e9', '\u00ff', '\u0100', '\u2028', '\u2029', '\u200b', '\ufeff', '\u20ac', '\ud7ff'],
  () => ['\ue000', '\uf8ff', '\ufffd', '\uffff', '\ufffe'],
  () => ['\u{10000}', '\u{1f600}', '\u{10ffff}', '\u{1d11e}', '\u{20000}'],
];

function randomChar(r) {
  return r.pick(r.pick(CHAR_CLASSES)());
}

// A JS string -> JSON string text, each character written raw or escaped at
// random (but always validly).
export function stringToken(r, s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    const short = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' }[ch];
    if (c < 0x20 || ch === '"' || ch === '\\') {
      out += short && r.chance(0.5) ? short : '\\u' + c.toString(16).padStart(4, '0');
    } else if (ch === '/' && r.chance(0.3)) {
      out += '\\/';
    } else if (r.chance(0.2)) { // escape it anyway, pairs for astral characters
      for (let i = 0; i < ch.length; i++) {
        const hex = ch.charCodeAt(i).toString(16).padStart(4, '0');
        out += '\\u' + (r.chance(0.5) ? hex : hex.toUpperCase());
      }
    } else {
      out += ch;
    }
  }
  return out + '"';
}

export function randomString(r, max = 8) {
  let s = '';
  for (let i = r.int(max + 1); i > 0; i--) s += randomChar(r);
  return s;
}

// Keys drawn from a small alphabet so that siblings share prefixes and
// cross the UTF-16 / UTF-8 order difference.
const KEY_PARTS = ['a', 'b', 'A', '', '\u00e9', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u007f', '\n', 'aa', 'z'];

function randomKey(r) {
  if (r.chance(0.2)) return randomString(r, 4);
  let k = '';
  for (let i = r.int(3) + (r.chance(0.9) ? 1 : 0); i > 0; i--) k += r.pick(KEY_PARTS);
  return k;
}

const ws = (r) => (r.chance(0.15) ? r.pick([' ', '\t', '\n', '\r', '  ', ' \n ']) : '');

// Random JSON text (always valid, never with duplicate keys).
export function randomJsonText(r, depth = 0) {
  const kind = depth > 5 ? r.int(4) : r.int(7);
  let t;
  switch (kind) {
    case 0: t = r.pick(['null', 'true', 'false']); break;
    case 1: case 2: t = randomNumberToken(r); break;
    case 3: t = stringToken(r, randomString(r)); break;
    case 4: case 5: {
      const keys = new Set();
      for (let i = r.int(6); i > 0; i--) keys.add(randomKey(r));
      t = '{' + [...keys].map((k) => ws(r) + stringToken(r, k) + ws(r) + ':' + randomJsonText(r, depth + 1)).join(',') + ws(r) + '}';
      break;
    }
    default: {
      const n = r.int(6);
      t = '[' + Array.from({ length: n }, () => randomJsonText(r, depth + 1)).join(',') + ws(r) + ']';
    }
  }
  return ws(r) + t + ws(r);
}

// Inputs every reader must refuse (as bytes).
export function hostileInputs() {
  const t = (s) => Buffer.from(s, 'utf8');
  const b = (...x) => Buffer.from(x);
  const cat = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? t(p) : p)));
  return [
    ...OVERFLOW_NUMBERS.map((n) => t(`{"x":${n}}`)),
    t('{"a":1,"a":2}'), t('{"a":{"b":1,"b":1}}'), t('{"\\u0061":1,"a":2}'), t('{"\u00e9":1,"e\u0301":2,"\\u00e9":3}'),
    t('"\\ud800"'), t('"\\udc00"'), t('"\\ud83d\\u0041"'), t('"\\ud83dx"'), t('["\\udfff\\ud800"]'),
    cat('"', b(0xc0, 0x80), '"'), cat('"', b(0xed, 0xa0, 0x80), '"'), cat('"', b(0xf4, 0x90, 0x80, 0x80), '"'),
    cat('"', b(0xe2, 0x82), '"'), cat('"', b(0x80), '"'), cat('"', b(0xff), '"'), cat('"', b(0xf8, 0x88, 0x80, 0x80, 0x80), '"'),
    cat('{"', b(0xc3), '":1}'), cat(b(0xef, 0xbb, 0xbf), '{}'),
    t('"a\u0000b"'), t('"tab\there"'), t('"\n"'), t('"\u001f"'),
    t('01'), t('-01'), t('1.'), t('.5'), t('+1'), t('1e'), t('1e+'), t('-'), t('0x10'), t('NaN'), t('Infinity'), t('-Infinity'),
    t('[1,]'), t('{"a":1,}'), t('[1 2]'), t('{"a" 1}'), t('{a:1}'), t("{'a':1}"), t('[1]]'), t('{}{}'), t('/*c*/1'), t('1 // c'),
    t(''), t(' '), t('nul'), t('tru'), t('[\u000b1]'), t('[\u00a01]'), t('"\\x41"'), t('"\\u12"'), t('"\\U0041"'), t('"abc'),
    t('['.repeat(129) + ']'.repeat(129)), t('{"a":'.repeat(129) + '1' + '}'.repeat(129)),
  ];
}

// One random single-byte change of a text: replace, insert or delete.
export function mutateBytes(r, buf) {
  const a = [...buf];
  const i = r.int(a.length + 1);
  const byte = r.chance(0.5) ? r.pick([0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x30, 0x31, 0x2d, 0x2e, 0x65, 0x20, 0x00, 0x80, 0xff]) : r.int(256);
  switch (r.int(3)) {
    case 0: if (i < a.length) a[i] = byte; else a.push(byte); break;
    case 1: a.splice(i, 0, byte); break;
    default: a.splice(Math.min(i, a.length - 1), 1);
  }
  return Buffer.from(a);
}
