// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev42-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev42_gateway.c.
// It answers initialize (a client named "late" a second late), ping,
// tools/list and tools/call of these tools:
//   echo  {text}: answers "echo: TEXT" at once;
//   slow  {ms}:   answers "slow done" after MS milliseconds;
//   hang:         never answers;
//   huge  {n}:    answers with a text of N bytes (one line longer than the
//                 gateway reads when N is past 64 MiB);
// Each call it gets, and each answer it sends, is appended to the file
// named by CHIO_RECORD ("got NAME" / "answered NAME"): the test's witness.
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;
const note = (s) => { if (rec) fs.appendFileSync(rec, s + '\n'); };
let buf = '';

function send(m, done) {
  return process.stdout.write(JSON.stringify(m) + '\n', done);
}

function answer(id, name, text) {
  note(`answered ${name}`);
  send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
}

function handle(line) {
  if (line.trim() === '') return;
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    return;
  }
  if (m.id === undefined || typeof m.method !== 'string') return;
  const p = m.params ?? {};
  const args = p.arguments ?? {};
  switch (m.method) {
    case 'initialize': {
      note('got initialize');
      const res = {
        jsonrpc: '2.0', id: m.id,
        result: {
          protocolVersion: p.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'rev42', version: '1' },
        },
      };
      // A client named "late" gets its answer after a second.
      if (p.clientInfo?.name === 'late') return setTimeout(() => send(res), 1000);
      return send(res);
    }
    case 'ping':
      return send({ jsonrpc: '2.0', id: m.id, result: {} });
    case 'tools/list':
      return send({
        jsonrpc: '2.0', id: m.id,
        result: { tools: ['echo', 'slow', 'hang', 'huge'].map((name) => ({ name, inputSchema: { type: 'object' } })) },
      });
    case 'tools/call':
      note(`got ${p.name}`);
      if (p.name === 'echo') return answer(m.id, 'echo', `echo: ${args.text}`);
      if (p.name === 'slow') return setTimeout(() => answer(m.id, 'slow', 'slow done'), args.ms);
      if (p.name === 'hang') return;
      if (p.name === 'huge') return answer(m.id, 'huge', 'x'.repeat(args.n));
      return send({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: 'unknown tool' } });
    default:
      return send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'method not found' } });
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c;
  const lines = buf.split('\n');
  buf = lines.pop();
  lines.forEach(handle);
});
process.stdin.on('end', () => process.exit(0));
