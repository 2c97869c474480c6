#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// scripts/gen-url-cases.mjs - writes tests/kernel/rev31_url_cases.h, the
// table of the differential URL test (tests/kernel/test_rev31_urls.c):
// tricky URL strings (backslashes, tab/CR/LF inside, C0 and spaces around,
// userinfo, percent-encoded hosts, IPv4 in every WHATWG form, IPv6,
// non-ASCII dots, odd schemes, ports, slashes) from a seeded generator, each
// with the host Node's WHATWG parser (`new URL()`) reads in it: as written,
// else against a base of the tool's own (scheme-relative), else once
// percent-decoded (up to four times); and the hosts of its words split at
// white space. The test runs every string through the kernel under a
// domain_exact constraint and fails when the kernel allows a URL whose
// WHATWG host (or a word's) is another one.
//
//   node scripts/gen-url-cases.mjs > tests/kernel/rev31_url_cases.h
//
// A second table holds file: URLs with the path Node's fileURLToPath()
// opens for each; the test holds the forbidden_path guard and path_prefix
// to it. Deterministic: the same seed and Node's URL parser give the same
// file.
// URL_CASES_SEED, URL_CASES_N and URL_CASES_FILES pick another seed and
// numbers of cases, to search further (the committed table uses the
// defaults).

import { fileURLToPath } from 'node:url';

const SEED = Number(process.env.URL_CASES_SEED ?? 0x31c0ffee);
const RANDOM_CASES = Number(process.env.URL_CASES_N ?? 8000);

// mulberry32: a small seeded PRNG, so the table is reproducible.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(SEED);
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

const GOOD = 'good.example';
const LOOPBACK = '127.0.0.1';

// Hosts, each with the constraint value a grant would name for it.
const HOSTS = [
  [GOOD, GOOD], ['GOOD.EXAMPLE', GOOD], ['good.example.', GOOD], ['Good.Example', GOOD],
  ['good%2eexample', GOOD], ['%67ood.example', GOOD], ['good%2Eexample', GOOD],
  ['good.example%2e', GOOD], ['good\u3002example', GOOD], ['good\uff0eexample', GOOD],
  ['\uff47ood.example', GOOD], ['good.exa\tmple', GOOD], ['good.exa\nmple', GOOD],
  ['good.example.evil.example', GOOD], ['evil.example', GOOD], ['good.example%00', GOOD],
  ['good.example%2fevil.example', GOOD], ['good.example%40evil.example', GOOD],
  ['good.example%5cevil.example', GOOD], ['good.example%3fevil.example', GOOD],
  ['good.example%23evil.example', GOOD], ['good.example%3a80', GOOD],
  ['good..example', GOOD], ['.good.example', GOOD], ['good.example..', GOOD],
  ['good\u00adexample', GOOD], ['good.e\u200bxample', GOOD], ['xn--good.example', GOOD],
  ['good.example&evil.example', GOOD], ['good.example;evil.example', GOOD],
  ['good.example evil.example', GOOD], ['good.example\\evil.example', GOOD],
  ['good.example%20', GOOD], ['good.example%09', GOOD], ['good_example', GOOD],
  [LOOPBACK, LOOPBACK], ['0x7f.1', LOOPBACK], ['017700000001', LOOPBACK],
  ['2130706433', LOOPBACK], ['127.1', LOOPBACK], ['127.0.0.1.', LOOPBACK],
  ['0x7f000001', LOOPBACK], ['0X7F.0.0.1', LOOPBACK], ['127.0.1', LOOPBACK],
  ['0177.0.0.1', LOOPBACK], ['127.0.0.01', LOOPBACK], ['127.0.0.0x1', LOOPBACK],
  ['127%2e0%2e0%2e1', LOOPBACK], ['%31%32%37.0.0.1', LOOPBACK], ['127.0.0.1..', LOOPBACK],
  ['[::ffff:127.0.0.1]', LOOPBACK], ['[::ffff:7f00:1]', LOOPBACK], ['[::127.0.0.1]', LOOPBACK],
  ['[::1]', LOOPBACK], ['[fe80::1%25eth0]', LOOPBACK], ['127.0.0.256', LOOPBACK],
  ['127.0.0.1.2', LOOPBACK], ['0x', LOOPBACK], ['128.0.0.1', LOOPBACK], ['127.0.0.2', LOOPBACK],
  ['2130706434', LOOPBACK], ['0x7f.0x0.0x0.0x1', LOOPBACK], ['127\u30020.0.1', LOOPBACK],
  ['\uff11\uff12\uff17.0.0.1', LOOPBACK], ['127.0.0.1\t', LOOPBACK], ['4294967423', LOOPBACK],
];

const SCHEMES = [
  'https', 'http', 'HTTPS', 'hTtP', 'ws', 'wss', 'ftp', 'file', 'FILE', 'foo', 'git+https',
  'blob:https', 'h\ttps', 'ht\ntp', 'view-source:https', 'https+unix', 'HtTpS',
];
const SEPS = [
  '://', ':/', ':', ':\\\\', ':/\\', ':\\/', ':///', ':////', ':/\t/', '://\\', ': //',
  ':%2f%2f', '://\r\n',
];
const USERINFO = [
  '', '', '', 'user@', 'u:p@', `${GOOD}@`, `${GOOD}:443@`, 'a%40b@', `${GOOD}%40@`, '@',
  `${GOOD}\\@`, 'evil.example@', 'a@b@', `${GOOD}#@`, `${GOOD}?@`, `${GOOD}/@`, ':@',
  'evil.example:good.example@', `${GOOD}%2f@`, `${GOOD}%5c@`, ' @',
];
const PORTS = ['', '', '', ':', ':443', ':0443', ':80', ':8080', ':65535', ':65536', ':x', ':1:2',
  ':443\t', ':%34%34%33', ':-1', ': 80'];
const TAILS = [
  '', '', '/', '/path', '?q=1', '#frag', '\\@evil.example', '#@evil.example', '?@evil.example',
  '@evil.example', '/@evil.example', ' evil.example', '\tevil.example', ';evil.example',
  '/..%2f..', '\\\\evil.example', '/%2e%2e/%2e%2e/etc', '/;x', '#x?y', '/ https://evil.example/',
  '\u3000https://evil.example/', ',https://evil.example', '\\evil.example', '.evil.example',
  ':80@evil.example', '%2F@evil.example', '&@evil.example', '/../../@evil.example',
];
const AROUND = ['', '', '', '', ' ', '\u0001', '\u001f', '\t', '\r\n', '  \u000b', '\u00a0'];

// Randomly damage a string the way WHATWG's clean-up and decoders differ on.
function mutate(s) {
  const ops = [
    () => { const i = Math.floor(rnd() * (s.length + 1)); return s.slice(0, i) + pick(['\t', '\n', '\r']) + s.slice(i); },
    () => { const i = Math.floor(rnd() * s.length); return s.slice(0, i) + s[i].toUpperCase() + s.slice(i + 1); },
    () => { const i = s.indexOf('/'); return i < 0 ? s : s.slice(0, i) + '\\' + s.slice(i + 1); },
    () => { const i = Math.floor(rnd() * s.length); const c = s.charCodeAt(i); return c < 128 && /[a-z.]/.test(s[i]) ? s.slice(0, i) + '%' + c.toString(16).padStart(2, '0') + s.slice(i + 1) : s; },
    () => s + pick(TAILS),
    () => pick(AROUND) + s,
  ];
  return pick(ops)();
}

// What a tool reads: the URL itself; a scheme-relative one against a base
// of its own (a host named in the string only counts when it is not the
// base's); and one that a tool percent-decodes first (up to four times).
const BASE = 'https://base.invalid/';
function parse(s, base) {
  try {
    const u = new URL(s, base);
    if (base && u.hostname === 'base.invalid') return null;
    return { host: u.hostname, scheme: u.protocol, port: u.port };
  } catch {
    return null;
  }
}
function whatwg(s) {
  let r = parse(s) ?? parse(s, BASE);
  for (let i = 0; r === null && i < 4 && /%[0-9a-f]{2}/i.test(s); i++) {
    try {
      s = decodeURIComponent(s);
    } catch {
      break;
    }
    r = parse(s) ?? parse(s, BASE);
  }
  return r;
}

// The hosts of the words a tool that splits running text on white space
// (Python's split(), JavaScript's split(/\s+/)) reads, other than @host.
function wordHosts(s, host) {
  const out = new Set();
  for (const w of s.split(/\s+/u)) {
    const r = w === s ? null : whatwg(w);
    if (r !== null && r.host !== '' && r.host !== host) out.add(r.host);
  }
  return [...out].join(' ');
}

const cases = [];
const seen = new Set();
// @bare: a host alone, under the key "host"; a tool builds "https://" + it.
function add(url, allow, bare = false) {
  if (url.includes('\u0000') || seen.has(`${bare}${url}`)) return;
  seen.add(`${bare}${url}`);
  const w = bare ? parse(`https://${url}/`) : whatwg(url);
  cases.push({ url, allow, bare, w, words: bare ? '' : wordHosts(url, w ? w.host : null) });
}

// The regular part: every host under every scheme (plain form), and the
// scheme-relative and decoded forms a tool might be given.
for (const [h, allow] of HOSTS) {
  for (const sc of ['https', 'foo', 'file', 'ws']) add(`${sc}://${h}/`, allow);
  add(`//${h}/x`, allow);
  add(`https%3A%2F%2F${encodeURIComponent(h)}%2F`, allow);
  add(h, allow, true);
  add(`${h}${pick(PORTS)}`, allow, true);
}
// The random part.
for (let i = 0; i < RANDOM_CASES; i++) {
  const [h, allow] = pick(HOSTS);
  let s = pick(AROUND) + pick(SCHEMES) + pick(SEPS) + pick(USERINFO) + h + pick(PORTS) + pick(TAILS) + pick(AROUND);
  if (rnd() < 0.5) s = mutate(s);
  if (rnd() < 0.2) s = mutate(s);
  add(s, allow);
  if (rnd() < 0.1) add(mutate(h), allow, true);
}
// Very long inputs (past the kernel's stack buffers).
add(`https://${'a'.repeat(2000)}@${GOOD}/`, GOOD);
add(`https://${GOOD}/${'x'.repeat(5000)}\\@evil.example`, GOOD);
add(`https://${'a.'.repeat(120)}good.example/`, GOOD);
add(`${' '.repeat(600)}https://evil.example/`, GOOD);
add(`https://${GOOD}${'\t'.repeat(700)}.evil.example/`, GOOD);

// file: URLs, for the path readings (forbidden_path, path_prefix): the
// path Node's fileURLToPath(new URL(s)) opens on POSIX (NULL: it refuses).
const FILE_CASES = Number(process.env.URL_CASES_FILES ?? 3000);
const F_SCHEMES = ['file', 'FILE', 'fIlE', 'fi\tle', 'f\nile', 'file\r', '\tfile', ' file', '\u0001file'];
const F_SEPS = [':', ':/', '://', ':///', '://localhost/', '://LOCALHOST/', ':\\\\', ':/\\',
  ':\\/localhost\\', '://%6cocalhost/', '://localhost./', ':////', '://\t/', ':/\t/',
  '://127.0.0.1/', '://localhost:80/', '://u@localhost/'];
const F_SEGS = ['workspace', 'workspace', 'etc', 'ETC', '..', '.', '%2e%2e', '.%2e', '%2E.', '.\t.',
  '%2e', '', 'a', 'C:', 'c|', 'etc%2f', '..%5c', 'e%74c', '%252e%252e', '.\n.', 'et\rc',
  '\u3002\u3002', '\uff0e\uff0e', '\u2025', 'passwd', '?', '#', ';x', '..\\..', '%5c..'];
const F_SLASHES = ['/', '/', '/', '\\', '%2f', '%5c', '//'];
function nodePath(s) {
  try {
    return fileURLToPath(new URL(s));
  } catch {
    return null;
  }
}
const fileCases = [];
const fileSeen = new Set();
while (fileCases.length < FILE_CASES) {
  let s = pick(F_SCHEMES) + pick(F_SEPS);
  const n = 1 + Math.floor(rnd() * 5);
  for (let i = 0; i < n; i++) s += pick(F_SEGS) + (i + 1 < n ? pick(F_SLASHES) : '');
  if (rnd() < 0.4) s += pick(['/etc/passwd', '/../etc/passwd', '/a', '']);
  if (fileSeen.has(s)) continue;
  fileSeen.add(s);
  fileCases.push({ url: s, path: nodePath(s) });
}

// C string literal: printable ASCII as is, everything else as 3-digit octal
// (octal escapes stop after three digits; hex ones do not).
function cstr(s) {
  if (s === null) return 'NULL';
  const b = Buffer.from(s, 'utf8');
  let o = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) o += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f && c !== 0x3f) o += String.fromCharCode(c); // '?': no trigraphs
    else o += '\\' + c.toString(8).padStart(3, '0');
  }
  return o + '"';
}

const out = [];
out.push('/* SPDX-License-Identifier: Apache-2.0 */');
out.push('/*');
out.push(' * tests/kernel/rev31_url_cases.h - generated by scripts/gen-url-cases.mjs');
out.push(` * (seed 0x${SEED.toString(16)}, Node ${process.version}); do not edit. Each row: a URL string,`);
out.push(' * whether it is a bare host (under "host"), the host a grant allows');
out.push(" * (domain_exact), the hostname Node's WHATWG `new URL()` reads in it (NULL:");
out.push(' * Node refuses it), those of its words other than that, its scheme and port.');
out.push(' */');
out.push('');
out.push('/* clang-format off */');
out.push('static const rev31_url_case rev31_url_cases[] = {');
for (const c of cases)
  out.push(`    {${cstr(c.url)}, ${c.bare ? 1 : 0}, ${cstr(c.allow)}, ${cstr(c.w ? c.w.host : null)}, ${cstr(c.words)}, ${cstr(c.w ? c.w.scheme : null)}, ${cstr(c.w ? c.w.port : null)}},`);
out.push('};');
out.push('');
out.push('/* file: URLs and the path Node opens for each (NULL: refused). */');
out.push('static const rev31_file_case rev31_file_cases[] = {');
for (const c of fileCases) out.push(`    {${cstr(c.url)}, ${cstr(c.path)}},`);
out.push('};');
out.push('/* clang-format on */');
process.stdout.write(out.join('\n') + '\n');
