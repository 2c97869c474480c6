// SPDX-License-Identifier: Apache-2.0
// tests/cli/bad_input_mcp_server.mjs - a small, strict MCP server over
// stdio (newline-delimited JSON-RPC, no dependencies) that
// tests/cli/test_bad_input_svc.c wraps with `chio mcp serve`. It answers
// initialize, ping, tools/list (echo, add) and tools/call (echo returns its
// text, add the sum), refuses what JSON-RPC 2.0 calls an invalid request
// (-32600), a method it does not know (-32601) and bad params (-32602), and
// ignores notifications and answers. Every tools/call it runs is counted in
// the text of its answer ("call N"), so the test can tell a call that
// reached it from one the gateway answered itself. An echo of "never
// answer" is never answered (a hung server).
import { createInterface } from 'node:readline';

let calls = 0;
const send = (m) => process.stdout.write(JSON.stringify(m) + '\n');
const error = (id, code, message) => send({ jsonrpc: '2.0', id, error: { code, message } });
const validId = (id) => typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));

function handle(msg) {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg))
    return error(null, -32600, 'invalid request');
  const hasId = Object.prototype.hasOwnProperty.call(msg, 'id');
  if (typeof msg.method !== 'string') return; // an answer: nothing asked by us
  if (!hasId) return; // a notification
  if (msg.jsonrpc !== '2.0' || !validId(msg.id))
    return error(validId(msg.id) ? msg.id : null, -32600, 'invalid request');
  const p = msg.params ?? {};
  switch (msg.method) {
    case 'initialize':
      return send({
        jsonrpc: '2.0', id: msg.id,
        result: {
          protocolVersion: typeof p.protocolVersion === 'string' ? p.protocolVersion : '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'bad-input-server', version: '1.0.0' },
        },
      });
    case 'ping':
      return send({ jsonrpc: '2.0', id: msg.id, result: {} });
    case 'tools/list':
      return send({
        jsonrpc: '2.0', id: msg.id,
        result: {
          tools: [
            { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
            { name: 'add', inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } } },
          ],
        },
      });
    case 'tools/call': {
      const args = p.arguments ?? {};
      if (typeof p.name !== 'string' || typeof args !== 'object' || Array.isArray(args))
        return error(msg.id, -32602, 'invalid params');
      calls++;
      if (p.name === 'echo' && args.text === 'never answer') return; // a server that hangs
      if (p.name === 'echo')
        return send({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: `call ${calls}: ${args.text}` }] } });
      if (p.name === 'add')
        return send({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: `call ${calls}: ${args.a + args.b}` }] } });
      return error(msg.id, -32602, `unknown tool ${p.name}`);
    }
    default:
      return error(msg.id, -32601, `method not found: ${msg.method}`);
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return error(null, -32700, 'parse error');
  }
  handle(msg);
});
rl.on('close', () => process.exit(0));
