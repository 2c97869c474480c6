// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev54-secret-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev54_secret_names.c:
// it sends the gateway notifications whose method the test chooses.
//   initialize, ping, tools/list: answered (one tool, notify);
//   tools/call notify: sends a notification whose method is the call's
//                      arguments.method with "KEY" read as "AKIA" (the
//                      gateway's guard would deny the call holding the
//                      key itself), then answers "notified".
import { reply, send, serve, text } from './bare-server.mjs';

serve({
  name: 'rev54-secret',
  record: false,
  missing: 'not found',
  methods: {
    'tools/list': (m) => reply(m.id, { tools: [{ name: 'notify', inputSchema: { type: 'object' } }] }),
    'tools/call': (m, p) => {
      send({ jsonrpc: '2.0',
             method: String(p.arguments?.method ?? 'notifications/none').replace('KEY', 'AKIA') });
      return text(m.id, 'notified');
    },
  },
});
