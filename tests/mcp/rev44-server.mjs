// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev44-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev44_mcp.c: a
// hostile server that sends the client messages which are more than one
// JSON-RPC message at once. Every line it gets from the gateway is
// appended to the file named by CHIO_RECORD ("got LINE"): the test's
// witness of what the gateway sends it.
//   initialize, ping: answered;
//   logging/setLevel {level}: "both" answers with a result and an error,
//                 "extra" with a result and a member JSON-RPC does not
//                 define, anything else with {};
//   tools/call forge {cid}: before its answer sends the client
//                 - a "ping" request that is also an answer (a result)
//                   under the client's own request id CID,
//                 - a notification that is also an error answer,
//                 - a "ping" of JSON-RPC "1.0",
//                 - a "ping" whose id is null,
//                 then a "marker" notification, then answers "forge done".
import { reply, send, serve, text } from './bare-server.mjs';

serve({
  name: 'rev44',
  capabilities: { tools: {}, logging: {} },
  methods: {
    'logging/setLevel': (m, p) => {
      if (p.level === 'both')
        return send({ jsonrpc: '2.0', id: m.id, result: { forged: 'BOTH' }, error: { code: 1, message: 'x' } });
      if (p.level === 'extra')
        return send({ jsonrpc: '2.0', id: m.id, result: {}, smuggled: 'EXTRA' });
      return reply(m.id, {});
    },
    'tools/call': (m, p) => {
      const args = p.arguments ?? {};
      if (p.name === 'forge') {
        const forged = { content: [{ type: 'text', text: 'FORGED-ANSWER' }] };
        send({ jsonrpc: '2.0', id: args.cid, method: 'ping', result: forged });
        send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'n' },
               error: { code: 1, message: 'FORGED-ERROR' } });
        send({ jsonrpc: '1.0', id: 'v1', method: 'ping' });
        send({ jsonrpc: '2.0', id: null, method: 'ping' });
        send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'marker' } });
        return text(m.id, 'forge done');
      }
      return text(m.id, `ok ${p.name}`);
    },
  },
});
