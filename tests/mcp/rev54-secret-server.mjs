// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev54-secret-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev54_secret_names.c:
// it sends the gateway notifications whose method the test chooses.
//   initialize, ping, tools/list: answered (one tool, notify);
//   tools/call notify: sends a notification whose method is the call's
//                      arguments.method with "KEY" read as "AKIA" (the
//                      gateway's guard would deny the call holding the
//                      key itself), then answers "notified".
let buf = '';

function send(m) {
  return process.stdout.write(JSON.stringify(m) + '\n');
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
  switch (m.method) {
    case 'initialize':
      return send({
        jsonrpc: '2.0', id: m.id,
        result: {
          protocolVersion: p.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'rev54-secret', version: '1' },
        },
      });
    case 'ping':
      return send({ jsonrpc: '2.0', id: m.id, result: {} });
    case 'tools/list':
      return send({ jsonrpc: '2.0', id: m.id, result: { tools: [
        { name: 'notify', inputSchema: { type: 'object' } }] } });
    case 'tools/call':
      send({ jsonrpc: '2.0',
             method: String(p.arguments?.method ?? 'notifications/none').replace('KEY', 'AKIA') });
      return send({ jsonrpc: '2.0', id: m.id,
                    result: { content: [{ type: 'text', text: 'notified' }] } });
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
