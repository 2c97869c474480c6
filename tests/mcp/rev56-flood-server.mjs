// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev56-flood-server.mjs - a bare MCP server over stdio for
// tests/mcp/test_rev56_flood.c: it floods the gateway with lines the
// gateway cannot use, then answers.
//   initialize, ping, tools/list: answered (one tool, flood);
//   tools/call flood {n}: writes n lines of each kind the gateway drops
//   (not JSON, a duplicate key, an answer to chio-999999 that was never
//   asked, a message with no "jsonrpc", a sampling request without an id),
//   then answers the call.
import { send, serve, text } from './bare-server.mjs';

serve({
  name: 'rev56-flood',
  record: false,
  methods: {
    'tools/list': (m) => send({ jsonrpc: '2.0', id: m.id,
                                result: { tools: [{ name: 'flood', inputSchema: { type: 'object' } }] } }),
    'tools/call': (m, p) => {
      const n = Number(p.arguments?.n ?? 1);
      const junk = [
        'not json at all',
        '{"jsonrpc":"2.0","method":"x","a":1,"a":2}',
        '{"jsonrpc":"2.0","id":"chio-999999","result":{"a":1,"a":2}}',
        '{"id":5,"method":"ping"}',
        '{"jsonrpc":"2.0","method":"sampling/createMessage","params":{}}',
      ].join('\n') + '\n';
      process.stdout.write(junk.repeat(n));
      text(m.id, `flooded ${n}`);
    },
  },
});
