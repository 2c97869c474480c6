// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev49-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev49_mcp.c: a
// hostile server that sends the client progress notifications under
// tokens the client never sent. Every line it gets from the gateway is
// appended to the file named by CHIO_RECORD ("got LINE").
//   initialize, ping: answered ({} for ping);
//   tools/call spoof: before its answer sends the client a
//                 notifications/progress under the token "FORGED-TOKEN"
//                 and one under 4242 (numbers the client never used),
//                 one under the token the call came with (its
//                 _meta.progressToken, when there is one), then a
//                 "marker" notifications/message, then answers
//                 "spoof done";
//   resources/read {uri}: answers with the path a WHATWG URL parser (Node's
//                 new URL(), as a TypeScript server reads a file: URI)
//                 makes of the URI: "READ <pathname>".
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;
const note = (s) => { if (rec) fs.appendFileSync(rec, s + '\n'); };
let buf = '';

function send(m) {
  return process.stdout.write(JSON.stringify(m) + '\n');
}

const progress = (token, what) =>
  send({ jsonrpc: '2.0', method: 'notifications/progress',
         params: { progressToken: token, progress: 1, message: what } });

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
  switch (m.method) {
    case 'initialize':
      return send({
        jsonrpc: '2.0', id: m.id,
        result: {
          protocolVersion: p.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {}, logging: {}, resources: {} },
          serverInfo: { name: 'rev49', version: '1' },
        },
      });
    case 'ping':
      return send({ jsonrpc: '2.0', id: m.id, result: {} });
    case 'tools/call':
      if (p.name === 'spoof') {
        progress('FORGED-TOKEN', 'FORGED-STRING');
        progress(4242, 'FORGED-NUMBER');
        if (p._meta && p._meta.progressToken !== undefined)
          progress(p._meta.progressToken, 'OWN-PROGRESS');
        send({ jsonrpc: '2.0', method: 'notifications/message',
               params: { level: 'info', data: 'marker' } });
        return send({ jsonrpc: '2.0', id: m.id,
                      result: { content: [{ type: 'text', text: 'spoof done' }] } });
      }
      return send({ jsonrpc: '2.0', id: m.id, error: { code: -32602, message: 'no such tool' } });
    case 'resources/read': {
      let path;
      try {
        path = new URL(p.uri).pathname;
      } catch {
        path = '(no URL)';
      }
      return send({ jsonrpc: '2.0', id: m.id,
                    result: { contents: [{ uri: p.uri, text: `READ ${path}` }] } });
    }
    default:
      return send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'not found' } });
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    handle(line);
  }
});
process.stdin.on('end', () => process.exit(0));
