// cli.mjs: runs the real chio CLI for interop.test.mjs (CHIO_CLI, default
// build/chio), each run bounded by a timeout, and reads its JSON lines.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const CLI = process.env.CHIO_CLI || path.join(ROOT, 'build/chio');

// Run `chio args...` with `input` on stdin; returns {rc, stdout (Buffer), stderr}.
export function chio(args, input = '', timeoutMs = 30000) {
  const p = spawnSync(CLI, args, { input, timeout: timeoutMs, maxBuffer: 256 << 20 });
  if (p.error) throw new Error(`chio ${args.join(' ')}: ${p.error.message}`);
  if (p.status === null) throw new Error(`chio ${args.join(' ')}: killed by ${p.signal}`);
  return { rc: p.status, stdout: p.stdout, stderr: p.stderr.toString() };
}

export function jsonLines(buf) {
  return buf.toString('utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

// Raw (canonical) lines, as bytes, without parsing.
export function rawLines(buf) {
  const out = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      if (i > start) out.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

export function tempDir(tag) {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), `chio-interop-${tag}-`));
}

export function writeSeed(dir, seedHex) {
  const f = path.join(dir, `seed-${seedHex.slice(0, 2)}`);
  fs.writeFileSync(f, seedHex, { mode: 0o600 });
  return f;
}
