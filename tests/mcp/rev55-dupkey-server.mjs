// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev55-dupkey-server.mjs - a bare MCP server over stdio for
// tests/mcp/test_rev55_dupkey.c: it answers a tools/call with a line the
// gateway cannot read, a duplicate member named by the call's
// arguments.key ("KEY" read as "AKIA", so the call itself holds no key).
//   initialize, ping, tools/list: answered (one tool, dup);
//   tools/call dup {key}: answers {"content":[],"K":1,"K":2} under its id.
import { reply, serve } from './bare-server.mjs';

serve({
  name: 'rev55-dupkey',
  record: false,
  methods: {
    'tools/list': (m) => reply(m.id, { tools: [{ name: 'dup', inputSchema: { type: 'object' } }] }),
    'tools/call': (m, p) => {
      const k = JSON.stringify(String(p.arguments?.key ?? 'x').replace('KEY', 'AKIA'));
      process.stdout.write(`{"jsonrpc":"2.0","id":${JSON.stringify(m.id)},` +
                           `"result":{"content":[],${k}:1,${k}:2}}\n`);
    },
  },
});
