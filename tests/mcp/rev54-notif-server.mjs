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
import { reply, send, serve, text } from './bare-server.mjs';

serve({
  name: 'rev54-notif',
  capabilities: { tools: {}, prompts: {} },
  missing: 'not found',
  methods: {
    'tools/list': (m) => reply(m.id, { tools: [
      { name: 'echo', inputSchema: { type: 'object' } },
      { name: 'ask', inputSchema: { type: 'object' } }] }),
    'tools/call': (m, p) => {
      if (p.name === 'ask') {
        send({ jsonrpc: '2.0', id: 'srv-roots-1', method: 'roots/list',
               params: { _meta: { progressToken: 'rt-1' } } });
        return text(m.id, 'asked');
      }
      return text(m.id, 'echo done');
    },
    'prompts/list': () => undefined,
  },
});
