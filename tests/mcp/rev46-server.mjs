// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev46-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev46_mcp_stop.c.
// Every line it gets from the gateway is appended to the file named by
// CHIO_RECORD ("got LINE"), "pid N" when it starts, "fire N" once it
// answered the N calls of a burst and "bye" when its input ends: the
// test's witness of what the gateway sends it and of when it stopped it.
//   initialize, ping: answered;
//   tools/call big {bytes}: answered at once with a text of BYTES "x"s
//                 and then "END";
//   tools/call burst {k}: held until SIGUSR2, then every one held
//                 answered in one write ("burst K" each);
//   tools/call slow: never answered (it waits to be cancelled).
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;
const note = (s) => { if (rec) fs.appendFileSync(rec, s + '\n'); };
let buf = '';
let held = [];

function line(m) {
  return JSON.stringify(m) + '\n';
}

const text = (id, t) => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: t }] } });

process.on('SIGUSR2', () => {
  const calls = held;
  held = [];
  process.stdout.write(calls.map((c) => line(text(c.id, `burst ${c.params.arguments.k}`))).join(''));
  note(`fire ${calls.length}`);
});
note(`pid ${process.pid}`);

function handle(l) {
  if (l.trim() === '') return;
  note(`got ${l}`);
  let m;
  try {
    m = JSON.parse(l);
  } catch {
    return;
  }
  if (m.id === undefined || typeof m.method !== 'string') return;
  const p = m.params ?? {};
  const args = p.arguments ?? {};
  switch (m.method) {
    case 'initialize':
      return process.stdout.write(line({
        jsonrpc: '2.0', id: m.id,
        result: {
          protocolVersion: p.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'rev46', version: '1' },
        },
      }));
    case 'ping':
      return process.stdout.write(line({ jsonrpc: '2.0', id: m.id, result: {} }));
    case 'tools/call':
      if (p.name === 'big') return process.stdout.write(line(text(m.id, 'x'.repeat(args.bytes ?? 1) + 'END')));
      if (p.name === 'burst') return held.push(m);
      return undefined; /* slow: never answered */
    default:
      return process.stdout.write(line({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'method not found' } }));
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c;
  const lines = buf.split('\n');
  buf = lines.pop();
  for (const l of lines) handle(l);
});
process.stdin.on('end', () => {
  note('bye');
  process.exit(0);
});
