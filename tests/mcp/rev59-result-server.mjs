// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev59-result-server.mjs - a bare MCP server over stdio for
// tests/mcp/test_rev59_results.c: it answers tools/call, resources/read
// and prompts/get with whatever JSON value the request names, so that a
// result that is no object can be sent.
//   tools/call echo {value}:        result = value;
//   resources/read {uri: "v:JSON"}: result = the JSON after "v:";
//   prompts/get {arguments: {value}}: result = JSON.parse(value).
import { reply, serve } from './bare-server.mjs';

serve({
  name: 'rev59-result',
  record: false,
  capabilities: { tools: {}, resources: {}, prompts: {} },
  methods: {
    'tools/list': (m) => reply(m.id, { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }),
    'tools/call': (m, p) => reply(m.id, p.arguments?.value ?? null),
    'resources/read': (m, p) => reply(m.id, JSON.parse(String(p.uri).slice(2))),
    'prompts/get': (m, p) => reply(m.id, JSON.parse(p.arguments?.value ?? 'null')),
  },
});
