// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev47-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev47_mcp.c.
// It answers initialize, sends a notification MCP does not define and
// then tools/list_changed. Then, by CHIO_REV47_MODE:
//   (unset) it stops reading its input for good (a server that is hung,
//           or hostile), staying alive;
//   "surrogate" it answers each tools/call with a text cut inside an
//           emoji: JSON.stringify writes the lone surrogate as "\ud83d",
//           which is no JSON the gateway reads.
// "pid N" and "deaf" (once it stopped reading) go to the file named by
// CHIO_RECORD.
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;
const mode = process.env.CHIO_REV47_MODE ?? '';
const note = (s) => { if (rec) fs.appendFileSync(rec, s + '\n'); };
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
let buf = '';

note(`pid ${process.pid}`);

function handle(m) {
  if (m.method === 'tools/call') {
    return send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: '😀😀'.slice(0, 3) }] } });
  }
  if (m.method !== 'initialize') return;
  send({
    jsonrpc: '2.0', id: m.id,
    result: {
      protocolVersion: m.params?.protocolVersion ?? '2025-06-18',
      capabilities: { tools: {} },
      serverInfo: { name: 'rev47', version: '1' },
    },
  });
  // A notification MCP does not define, then one it does.
  send({ jsonrpc: '2.0', method: 'notifications/x/exfil', params: { data: 'rev47-not-passed' } });
  send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
  if (mode === 'surrogate') return;
  // Nothing more is read: the thread blocks for good (the process stays,
  // its default SIGTERM still ends it) and the pipe from the gateway fills.
  note('deaf');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (l.trim() !== '') handle(JSON.parse(l));
  }
});
