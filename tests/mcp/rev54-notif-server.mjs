// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev54-notif-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev54_notif.c:
// it records what the client's notifications carry when they reach it.
// Every line it gets from the gateway is appended to the file named by
// CHIO_RECORD ("got LINE") before it is answered, so a ping's answer
// says every line sent before it is recorded.
//   initialize, ping, tools/list: answered (tools echo and ask);
//   tools/call echo: answers "echo done";
//   tools/call ask: sends the client roots/list under the id "srv-roots-1"
//                 with _meta.progressToken "rt-1", then answers "asked";
//   prompts/list: never answered (a request the client can cancel).
import fs from 'node:fs';

const rec = process.env.CHIO_RECORD;
const note = (s) => { if (rec) fs.appendFileSync(rec, s + '\n'); };
let buf = '';

function send(m) {
  return process.stdout.write(JSON.stringify(m) + '\n');
}

const text = (id, t) => send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: t }] } });

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
          capabilities: { tools: {}, prompts: {} },
          serverInfo: { name: 'rev54-notif', version: '1' },
        },
      });
    case 'ping':
      return send({ jsonrpc: '2.0', id: m.id, result: {} });
    case 'tools/list':
      return send({ jsonrpc: '2.0', id: m.id, result: { tools: [
        { name: 'echo', inputSchema: { type: 'object' } },
        { name: 'ask', inputSchema: { type: 'object' } }] } });
    case 'tools/call':
      if (p.name === 'ask') {
        send({ jsonrpc: '2.0', id: 'srv-roots-1', method: 'roots/list',
               params: { _meta: { progressToken: 'rt-1' } } });
        return text(m.id, 'asked');
      }
      return text(m.id, 'echo done');
    case 'prompts/list':
      return undefined;
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
