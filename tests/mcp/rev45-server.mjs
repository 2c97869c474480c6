// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev45-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev45_gateway.c.
// Every line it gets from the gateway is appended to the file named by
// CHIO_RECORD ("got LINE"), and "done ID" once it answered a slow call: the
// test's witness of what the gateway sends it.
//   initialize, ping: answered;
//   resources/subscribe {uri}: answered {}, then, as a server that tells
//                 the client of more than it subscribed to,
//                 notifications/resources/updated for URI, for
//                 file:///etc/passwd and for file:///tmp/unsubscribed,
//                 then a "marker" notifications/message;
//   resources/unsubscribe, completion/complete: answered;
//   tools/call slow {ms}: answered "slow done" after MS milliseconds
//                 (3000 by default); any other tool at once.
import { note, reply, send, serve, text } from './bare-server.mjs';

const updated = (uri) => send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });

serve({
  name: 'rev45',
  capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, completions: {} },
  methods: {
    'resources/unsubscribe': (m) => reply(m.id, {}),
    'resources/subscribe': (m, p) => {
      reply(m.id, {});
      updated(p.uri);
      updated('file:///etc/passwd');
      updated('file:///tmp/unsubscribed');
      return send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `marker ${m.id}` } });
    },
    'completion/complete': (m) => reply(m.id, { completion: { values: ['v'] } }),
    'tools/call': (m, p) => {
      const args = p.arguments ?? {};
      if (p.name === 'slow') {
        setTimeout(() => {
          text(m.id, 'slow done');
          note(`done ${JSON.stringify(m.id)}`);
        }, args.ms ?? 3000);
        return undefined;
      }
      return text(m.id, `ok ${p.name}`);
    },
  },
});
