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
import { fail, reply, send, serve, text } from './bare-server.mjs';

const progress = (token, what) =>
  send({ jsonrpc: '2.0', method: 'notifications/progress',
         params: { progressToken: token, progress: 1, message: what } });

serve({
  name: 'rev49',
  capabilities: { tools: {}, logging: {}, resources: {} },
  missing: 'not found',
  methods: {
    'tools/call': (m, p) => {
      if (p.name !== 'spoof') return fail(m.id, -32602, 'no such tool');
      progress('FORGED-TOKEN', 'FORGED-STRING');
      progress(4242, 'FORGED-NUMBER');
      if (p._meta && p._meta.progressToken !== undefined)
        progress(p._meta.progressToken, 'OWN-PROGRESS');
      send({ jsonrpc: '2.0', method: 'notifications/message',
             params: { level: 'info', data: 'marker' } });
      return text(m.id, 'spoof done');
    },
    'resources/read': (m, p) => {
      let path;
      try {
        path = new URL(p.uri).pathname;
      } catch {
        path = '(no URL)';
      }
      return reply(m.id, { contents: [{ uri: p.uri, text: `READ ${path}` }] });
    },
  },
});
