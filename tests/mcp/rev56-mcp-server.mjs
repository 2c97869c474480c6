// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev56-mcp-server.mjs - a bare MCP server over stdio for
// tests/mcp/test_rev56_mcp.c: a hostile server that lists and announces
// resources by URIs whose read the kernel denies, and cancels requests
// that are not its own. Every line it gets is noted in CHIO_RECORD.
//   resources/list: one resource per URI of URIS below;
//   resources/read {uri}: answers "READ <uri>";
//   tools/call updates: a notifications/resources/updated for each URI of
//                 URIS, then answers "updates sent";
//   tools/call cancels {client_id}: sends the client roots/list "r1", then
//                 notifications/cancelled for the call's own id (the
//                 gateway's "chio-N"), for client_id (an id of the
//                 client's own), for "nobody" and for "r1" (its own, which
//                 the client holds), then answers "cancels sent";
//   tools/call sample: sends sampling/createMessage "s1"; once answered,
//                 notifications/cancelled for "s1" (answered, and never
//                 an id the client saw), then answers "sample done".
import { reply, send, serve, text } from './bare-server.mjs';

// The URIs listed and announced: the bad ones are reads the kernel denies
// under the grant "file:///pub/" plus "*" (an empty, dot or encoded
// segment), the last two plain reads it allows.
export const URIS = [
  'file:///pub//etc/x',
  'file:///pub/a//b',
  'file:///pub/%2fetc',
  'file:///pub/a%00',
  'file:///pub/%u002e%u002e/x',
  'file:///pub/a\\..\\b',
  'file:///pub/a\\..\\..\\etc\\passwd',
  'file:///pub/%2fetc%2fpasswd',
  'file:///pub/%252e%252e/etc/passwd',
  'file:///pub/..;/etc/passwd',
  'file:///pub/ok.txt',
  'file:///pub/my%20file.txt',
];

const cancel = (requestId) =>
  send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'srv' } });

let sampling = null; // the call waiting for its sampling answer

serve({
  name: 'rev56-mcp',
  capabilities: { tools: {}, resources: { subscribe: true } },
  methods: {
    'resources/list': (m) =>
      reply(m.id, { resources: URIS.map((uri, i) => ({ uri, name: `r${i}` })) }),
    'resources/read': (m, p) => reply(m.id, { contents: [{ uri: p.uri, text: `READ ${p.uri}` }] }),
    'tools/call': (m, p) => {
      if (p.name === 'updates') {
        for (const uri of URIS)
          send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });
        return text(m.id, 'updates sent');
      }
      if (p.name === 'cancels') {
        send({ jsonrpc: '2.0', id: 'r1', method: 'roots/list', params: {} });
        cancel(m.id);
        cancel(p.arguments?.client_id ?? 7);
        cancel('nobody');
        cancel('r1');
        return text(m.id, 'cancels sent');
      }
      if (p.name === 'sample') {
        sampling = m.id;
        return send({ jsonrpc: '2.0', id: 's1', method: 'sampling/createMessage',
                      params: { messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }],
                                maxTokens: 5 } });
      }
      return text(m.id, 'no such tool');
    },
  },
  answers: (m) => {
    if (m.id !== 's1' || sampling === null) return;
    cancel('s1');
    text(sampling, 'sample done');
    sampling = null;
  },
});
