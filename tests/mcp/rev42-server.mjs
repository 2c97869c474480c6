// SPDX-License-Identifier: Apache-2.0
// tests/mcp/rev42-server.mjs - a bare MCP server over stdio (newline-
// delimited JSON-RPC, no dependencies) for tests/mcp/test_rev42_gateway.c.
// It answers initialize (a client named "late" a second late), ping,
// tools/list and tools/call of these tools:
//   echo  {text}: answers "echo: TEXT" at once;
//   slow  {ms}:   answers "slow done" after MS milliseconds;
//   hang:         never answers;
//   huge  {n}:    answers with a text of N bytes (one line longer than the
//                 gateway reads when N is past 64 MiB);
// Each call it gets, and each answer it sends, is appended to the file
// named by CHIO_RECORD ("got NAME" / "answered NAME"): the test's witness.
import { fail, note, reply, send, serve, text } from './bare-server.mjs';

function answer(id, name, t) {
  note(`answered ${name}`);
  text(id, t);
}

serve({
  name: 'rev42',
  record: false,
  methods: {
    initialize: (m, p) => {
      note('got initialize');
      const res = {
        jsonrpc: '2.0', id: m.id,
        result: {
          protocolVersion: p.protocolVersion ?? '2025-06-18',
          capabilities: { tools: {} },
          serverInfo: { name: 'rev42', version: '1' },
        },
      };
      // A client named "late" gets its answer after a second.
      if (p.clientInfo?.name === 'late') return setTimeout(() => send(res), 1000);
      return send(res);
    },
    'tools/list': (m) => reply(m.id, {
      tools: ['echo', 'slow', 'hang', 'huge'].map((name) => ({ name, inputSchema: { type: 'object' } })),
    }),
    'tools/call': (m, p) => {
      const args = p.arguments ?? {};
      note(`got ${p.name}`);
      if (p.name === 'echo') return answer(m.id, 'echo', `echo: ${args.text}`);
      if (p.name === 'slow') return setTimeout(() => answer(m.id, 'slow', 'slow done'), args.ms);
      if (p.name === 'hang') return undefined;
      if (p.name === 'huge') return answer(m.id, 'huge', 'x'.repeat(args.n));
      return fail(m.id, -32602, 'unknown tool');
    },
  },
});
