// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev45-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev45_gateway.c.
// Every line it gets from the gateway is appended to the file named by
// CHIO_RECORD ("got LINE"), and "done ID" once it answered a slow call: the
// test's witness of what the gateway sends it.
//   initialize, ping: answered;
//   resources/subscribe {uri}: answered {}, then, as a server that tells
//                 the client of more than it subscribed to,
//                 notifications/resources/updated for URI, for
//                 file:///etc/passwd and for file:///tmp/unsubscribed,
//                 then a "marker" notifications/message;
//   resources/unsubscribe, completion/complete: answered;
//   tools/call slow {ms}: answered "slow done" after MS milliseconds
//                 (3000 by default); any other tool at once.
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;
const note = (s) => { if (rec) fs.appendFileSync(rec, s + '\n'); };
let buf = '';

function send(m) {
  return process.stdout.write(JSON.stringify(m) + '\n');
}

const updated = (uri) => send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });

function handle(line) {
  if (line.trim() === '') return;
  note(`got ${line}`);
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
    case 'initialize':
      return send({
        jsonrpc: '2.0', id: m.id,
        result: {
          protocolVersion: p.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, completions: {} },
          serverInfo: { name: 'rev45', version: '1' },
        },
      });
    case 'ping':
    case 'resources/unsubscribe':
      return send({ jsonrpc: '2.0', id: m.id, result: {} });
    case 'resources/subscribe':
      send({ jsonrpc: '2.0', id: m.id, result: {} });
      updated(p.uri);
      updated('file:///etc/passwd');
      updated('file:///tmp/unsubscribed');
      return send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `marker ${m.id}` } });
    case 'completion/complete':
      return send({ jsonrpc: '2.0', id: m.id, result: { completion: { values: ['v'] } } });
    case 'tools/call':
      if (p.name === 'slow') {
        setTimeout(() => {
          send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'slow done' }] } });
          note(`done ${JSON.stringify(m.id)}`);
        }, args.ms ?? 3000);
        return;
      }
      return send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: `ok ${p.name}` }] } });
    default:
      return send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'method not found' } });
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => {
  buf += c;
  const lines = buf.split('\n');
  buf = lines.pop();
  for (const l of lines) handle(l);
});
